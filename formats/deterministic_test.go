package formats

import (
	"crypto"
	//lint:ignore SA1019 the RHEL eras (RHEL4-6) verify only DSA signatures
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha1"
	"crypto/sha256"
	"math/big"
	"testing"
)

// rfc6979DSAKey is RFC 6979 appendix A.2.1's DSA key, 1024 bits.
func rfc6979DSAKey(t *testing.T) *dsa.PrivateKey {
	t.Helper()
	hexInt := func(s string) *big.Int {
		x, ok := new(big.Int).SetString(s, 16)
		if !ok {
			t.Fatalf("bad hex %q", s)
		}
		return x
	}
	return &dsa.PrivateKey{
		PublicKey: dsa.PublicKey{Parameters: dsa.Parameters{
			P: hexInt("86F5CA03DCFEB225063FF830A0C769B9DD9D6153AD91D7CE27F787C43278B447E6533B86B18BED6E8A48B784A14C252C5BE0DBF60B86D6385BD2F12FB763ED8873ABFD3F5BA2E0A8C0A59082EAC056935E529DAF7C610467899C77ADEDFC846C881870B7B19B2B58F9BE0521A17002E3BDD6B86685EE90B3D9A1B02B782B1779"),
			Q: hexInt("996F967F6C8E388D9E28D01E205FBA957A5698B1"),
			G: hexInt("07B0F92546150B62514BB771E2A0C0CE387F03BDA6C56B505209FF25FD3C133D89BBCD97E904E09114D9A7DEFDEADFC9078EA544D2E401AEECC40BB9FBBF78FD87995A10A1C27CB7789B594BA7EFB5C4326A9FE59A070E136DB77175464ADCA417BE5DCE2F40D10A46A3A3943F26AB7FD9C0398FF8C76EE0A56826A8A88F1DBD"),
		}, Y: hexInt("5DF5E01DED31D0297E274E1691C192FE5868FEF9E19A84776454B100CF16F65392195A38B90523E2542EE61871C0440CB87C322FC4B4D2EC5E1E7EC766E1BE8D4CE935437DC11C3C8FD426338933EBFE739CB3465F4D3668C5E473508253B1E682F65CBDC4FAE93C2EA212390E54905A86E2223170B44EAA7DA5DD9FFCFB7F3B")},
		X: hexInt("411602CB19A6CCC34494D79D98EF1E7ED5AF25F7"),
	}
}

// RFC 6979 appendix A.2.1: DSA, 1024 bits, with SHA-1 and message "sample".
func TestSignDSARFC6979(t *testing.T) {
	hexInt := func(s string) *big.Int {
		x, _ := new(big.Int).SetString(s, 16)
		return x
	}
	k := rfc6979DSAKey(t)
	d := sha1.Sum([]byte("sample"))
	r, s, err := SignDSA(k, d[:], crypto.SHA1, SignOptions{Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := hexInt("2E1A0C2562B2912CAAF89186FB0F42001585DA55"); r.Cmp(want) != 0 {
		t.Errorf("r = %X, want %X", r, want)
	}
	if want := hexInt("29EFB6B0AFF2D7A68EB70CA313022253B9A88DF5"); s.Cmp(want) != 0 {
		t.Errorf("s = %X, want %X", s, want)
	}
	if !dsa.Verify(&k.PublicKey, d[:], r, s) {
		t.Error("crypto/dsa rejects the deterministic signature")
	}
}

// TestCheckDSA: the check SignDSA makes of a deterministic signature passes the RFC 6979
// vector's, and fails the faulty signatures that would give the key away beside it: r from
// a faulty g^k with s recomputed from it (which crypto/dsa rejects too), and a valid
// signature made with a nonce one off (which crypto/dsa accepts); and the right signature
// taken for another candidate nonce.
func TestCheckDSA(t *testing.T) {
	k := rfc6979DSAKey(t)
	q := k.Q
	d := sha1.Sum([]byte("sample"))
	z := new(big.Int).SetBytes(d[:])
	r, s, err := SignDSA(k, d[:], crypto.SHA1, SignOptions{Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	if !checkDSA(k, d[:], crypto.SHA1, z, r, s, 1) {
		t.Fatal("the RFC 6979 signature fails the check")
	}
	if checkDSA(k, d[:], crypto.SHA1, z, r, s, 2) {
		t.Error("passes as made with the second candidate nonce")
	}
	// sign returns (r, s) for the nonce kk, with r given or computed
	sign := func(kk, r *big.Int) (*big.Int, *big.Int) {
		if r == nil {
			r = new(big.Int).Exp(k.G, kk, k.P)
			r.Mod(r, q)
		}
		s := new(big.Int).Mul(k.X, r)
		s.Add(s, z).Mul(s, new(big.Int).ModInverse(kk, q)).Mod(s, q)
		return r, s
	}
	w := new(big.Int).ModInverse(s, q)
	nonce := new(big.Int).Mul(k.X, r)
	nonce.Add(nonce, z).Mul(nonce, w).Mod(nonce, q)
	r1, s1 := sign(nonce, new(big.Int).Add(r, big.NewInt(1)))
	if dsa.Verify(&k.PublicKey, d[:], r1, s1) || checkDSA(k, d[:], crypto.SHA1, z, r1, s1, 1) {
		t.Error("r+1 with s recomputed passes")
	}
	r2, s2 := sign(new(big.Int).Add(nonce, big.NewInt(1)), nil)
	if !dsa.Verify(&k.PublicKey, d[:], r2, s2) {
		t.Fatal("the signature with nonce k+1 is not valid")
	}
	if checkDSA(k, d[:], crypto.SHA1, z, r2, s2, 1) {
		t.Error("a valid signature with nonce k+1 passes")
	}
}

func TestSignDigestDeterministicECDSA(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), randReader{})
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("module"))
	a, err := SignDigest(k, d[:], crypto.SHA256, SignOptions{Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := SignDigest(k, d[:], crypto.SHA256, SignOptions{Deterministic: true})
	if string(a) != string(b) {
		t.Error("deterministic ECDSA signatures differ")
	}
	if !ecdsa.VerifyASN1(&k.PublicKey, d[:], a) {
		t.Error("signature does not verify")
	}
	c, _ := SignDigest(k, d[:], crypto.SHA256, SignOptions{})
	if string(a) == string(c) {
		t.Error("randomised signature equals the deterministic one")
	}
}

type randReader struct{}

func (randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*7 + 3)
	}
	return len(p), nil
}
