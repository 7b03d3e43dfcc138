package formats

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"testing"
)

// TestDigestMemo: a memo answers equal bytes (elsewhere in memory) from what it remembers,
// computes changed bytes afresh, keeps hashes apart, and a nil memo just hashes.
func TestDigestMemo(t *testing.T) {
	a := bytes.Repeat([]byte("module payload "), 1000)
	b := append([]byte(nil), a...)
	c := append([]byte(nil), a...)
	c[len(c)/2] ^= 1
	want256, want384 := sha256.Sum256(a), sha512.Sum384(a)
	wantC := sha256.Sum256(c)

	dm := &DigestMemo{}
	if got := dm.Sum(crypto.SHA256, a); !bytes.Equal(got, want256[:]) {
		t.Fatal("first Sum wrong")
	}
	if got := dm.Sum(crypto.SHA256, b); !bytes.Equal(got, want256[:]) || len(dm.entries) != 1 {
		t.Fatalf("equal bytes: %x, %d entries (want a hit)", got, len(dm.entries))
	}
	if got := dm.Sum(crypto.SHA256, c); !bytes.Equal(got, wantC[:]) {
		t.Fatalf("changed bytes answered from the memo: %x", got)
	}
	if got := dm.Sum(crypto.SHA384, b); !bytes.Equal(got, want384[:]) {
		t.Fatal("another hash answered from the memo")
	}
	if got := dm.Sum(crypto.SHA256, a[:len(a)-1]); bytes.Equal(got, want256[:]) {
		t.Fatal("a prefix answered from the memo")
	}
	got := dm.Sum(crypto.SHA256, a)
	got[0] ^= 0xff // callers may keep and modify what they get
	if again := dm.Sum(crypto.SHA256, b); !bytes.Equal(again, want256[:]) {
		t.Fatal("memo shares its stored digest with callers")
	}
	var none *DigestMemo
	if got := none.Sum(crypto.SHA256, a); !bytes.Equal(got, want256[:]) {
		t.Fatal("nil memo")
	}
	m := NewModule("m", a)
	m.Digests = dm
	if p := m.Prefix(10); !bytes.Equal(p.InMemory(), a[:10]) || p.Digests != dm {
		t.Fatal("Prefix loses the in-memory bytes or the memo")
	}
}
