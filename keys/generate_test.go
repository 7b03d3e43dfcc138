package keys

import (
	"strings"
	"testing"
)

// TestGenerateValidity: a validity ending after 9999-12-31 is refused with a sentence, not
// x509's "cannot represent time as GeneralizedTime".
func TestGenerateValidity(t *testing.T) {
	_, err := Generate(GenerateOptions{Type: "ecdsa-p256", CommonName: "k", Days: 3000000})
	if err == nil || !strings.Contains(err.Error(), "after 9999-12-31") {
		t.Fatalf("Generate with 3,000,000 days: %v", err)
	}
	if _, err := Generate(GenerateOptions{Type: "ecdsa-p256", CommonName: "k", Days: 2800000}); err != nil {
		t.Fatalf("Generate with 2,800,000 days (to about 9690): %v", err)
	}
}
