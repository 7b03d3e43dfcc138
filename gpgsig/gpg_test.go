package gpgsig

import (
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/internal/peers"
)

// gpgHome is a throwaway GNUPGHOME (ORACLES.md §5) for one test.
type gpgHome struct{ *peers.GPGHome }

func newGPG(t testing.TB) *gpgHome {
	t.Helper()
	return &gpgHome{peers.NewGPGHome(t)}
}

// verify runs gpg --verify with a status fd and reports whether gpg printed GOODSIG and
// VALIDSIG, with the output for messages.
func (g *gpgHome) verify(sig, payload []byte, extra ...string) (bool, string) {
	g.T.Helper()
	sp, pp := g.File("v.sig", sig), g.File("v.payload", payload)
	args := append(append([]string{"--status-fd", "1"}, extra...), "--verify", sp, pp)
	out, _ := g.Run(args...)
	s := string(out)
	return strings.Contains(s, "[GNUPG:] GOODSIG ") && strings.Contains(s, "[GNUPG:] VALIDSIG "), s
}
