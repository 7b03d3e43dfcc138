package conv

import (
	"runtime"
	"sync"
)

// Each calls fn for every input on jobs goroutines (<= 0: one per CPU) and returns the
// results in input order: what inspect and verify use to read a tree on every core.
func Each[T any](inputs []Input, jobs int, fn func(Input) T) []T {
	out := make([]T, len(inputs))
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	jobs = min(jobs, len(inputs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = fn(inputs[i])
			}
		}()
	}
	for i := range inputs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}
