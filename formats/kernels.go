package formats

import (
	"fmt"
	"strings"
)

// KernelModeler is implemented by drivers that model kernels by name ([Policy.Kernel]).
// Their Verify falls back to a default for a name it does not know (with a note or an
// Unsupported verdict); [CheckKernel] lets a caller refuse such a name once, up front.
type KernelModeler interface {
	// Kernels lists the names the driver models, for messages ("linux-X.Y" stands for
	// every mainline version).
	Kernels() []string
	// ModelsKernel reports whether name is one of them.
	ModelsKernel(name string) bool
}

// KnownKernels lists the kernel models of the registered drivers ("linux-X.Y" stands for
// every mainline version), each once.
func KnownKernels() []string {
	var known []string
	seen := map[string]bool{}
	for _, d := range All() {
		if km, ok := d.(KernelModeler); ok {
			for _, k := range km.Kernels() {
				if !seen[k] {
					seen[k] = true
					known = append(known, k)
				}
			}
		}
	}
	return known
}

// CheckKernel returns nil if name is "" (each format's own era) or a kernel model some
// registered driver knows, and otherwise an error wrapping ErrUnknownKernel that lists the
// known models.
func CheckKernel(name string) error {
	if name == "" {
		return nil
	}
	for _, d := range All() {
		if km, ok := d.(KernelModeler); ok && km.ModelsKernel(name) {
			return nil
		}
	}
	return fmt.Errorf("%w %q (known: %s)", ErrUnknownKernel, name, strings.Join(KnownKernels(), ", "))
}
