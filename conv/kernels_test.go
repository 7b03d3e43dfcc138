package conv

import (
	"errors"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// TestKernelModels: every kernel model a driver lists is one its Verify models (no
// Unsupported verdict, no "unknown ... using the default" note, the verdict names it), and
// formats.CheckKernel takes exactly the listed names (any mainline version for linux-X.Y).
func TestKernelModels(t *testing.T) {
	m := formats.NewModule("hello.ko", helloKO(t))
	for _, d := range formats.All() {
		km, ok := d.(formats.KernelModeler)
		if !ok {
			if d.ID() != "pgp-trailer" { // judged by the mainline models of pkcs7 and x509
				t.Errorf("%s models no kernels", d.ID())
			}
			continue
		}
		for _, name := range km.Kernels() {
			if name == "linux-X.Y" {
				name = "linux-4.3"
			}
			if !km.ModelsKernel(name) {
				t.Errorf("%s: lists %s but does not model it", d.ID(), name)
			}
			if err := formats.CheckKernel(name); err != nil {
				t.Errorf("CheckKernel(%s) = %v", name, err)
			}
			v := d.Verify(m, &keys.Ring{}, formats.Policy{Kernel: name})
			if v.Outcome == formats.Unsupported || v.Kernel != name {
				t.Errorf("%s: Verify with kernel %s: outcome %s, kernel %q: %s", d.ID(), name, v.Outcome, v.Kernel, v.Reason)
			}
			for _, n := range v.Notes {
				if strings.Contains(n, name) && (strings.Contains(n, "unknown") || strings.Contains(n, "no kernel model")) {
					t.Errorf("%s: Verify with kernel %s falls back: %s", d.ID(), name, n)
				}
			}
		}
	}
	for _, name := range []string{"linux-6.1", "linux-2.6.9", "linux-3.7-rc1", "rhel4", "howells-2012-early", "modsig-rfc-2012", "gkh2004-stub", ""} {
		if err := formats.CheckKernel(name); err != nil {
			t.Errorf("CheckKernel(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"bogus", "rhel9", "linux-6", "linux-x.1", "gkh2004-x", "modsig-rfc-x", "fedora2012-x", "Linux-6.1"} {
		err := formats.CheckKernel(name)
		if !errors.Is(err, formats.ErrUnknownKernel) || !strings.Contains(err.Error(), "rhel5") {
			t.Errorf("CheckKernel(%q) = %v, want ErrUnknownKernel listing the models", name, err)
		}
	}
}
