// Command fetch downloads the Debian 6.1 module corpus into the cache (if needed) and prints
// the module directory and the carved signing certificate, for bench/ scripts.
package main

import (
	"fmt"
	"os"

	"github.com/kmodsig/kmodsig/internal/corpus"
)

func main() {
	c, err := corpus.Fetch()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetch:", err)
		os.Exit(1)
	}
	fmt.Printf("MODULES=%s\nCERT=%s\nPACKAGE=%s\n", c.Modules, c.Cert, c.Package)
}
