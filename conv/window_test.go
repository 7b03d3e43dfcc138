package conv

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestWindowedReader compares every read through the windows with the same read of the bytes,
// for files smaller than, equal to and larger than the windows, across all window edges.
func TestWindowedReader(t *testing.T) {
	for _, size := range []int64{0, 1, HeadWindow, SmallModule, SmallModule + 1, 3 * SmallModule, 5<<20 + 7} {
		data := make([]byte, size)
		rng := rand.New(rand.NewPCG(uint64(size), 1))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		ref := bytes.NewReader(data)
		w, err := newWindowedReader(ref, size)
		if err != nil {
			t.Fatal(err)
		}
		edges := []int64{0, 1, HeadWindow - 1, HeadWindow, HeadWindow + 1, size - TailWindow - 1, size - TailWindow,
			size - TailWindow + 1, size - 40, size - 1, size, size + 1}
		for _, off := range edges {
			for _, n := range []int64{0, 1, 12, 40, TailWindow, TailWindow + 5} {
				if off < 0 {
					continue
				}
				a, b := make([]byte, n), make([]byte, n)
				na, ea := w.ReadAt(a, off)
				nb, eb := ref.ReadAt(b, off)
				if na != nb || !bytes.Equal(a[:na], b[:nb]) || (ea == nil) != (eb == nil) {
					t.Fatalf("size %d ReadAt(%d bytes, %d) = %d, %v; want %d, %v", size, n, off, na, ea, nb, eb)
				}
			}
		}
	}
}
