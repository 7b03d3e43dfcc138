package formats

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// modsigBuild assembles payload ‖ signer ‖ keyID ‖ sig ‖ block ‖ Marker by hand, with the
// block's length fields as given (so that they can lie), independently of AppendModSig.
func modsigBuild(payload, signer, keyID, sig []byte, b ModSig) []byte {
	out := append([]byte{}, payload...)
	out = append(out, signer...)
	out = append(out, keyID...)
	out = append(out, sig...)
	out = append(out, b.Algo, b.Hash, b.IDType, b.SignerLen, b.KeyIDLen, b.Pad[0], b.Pad[1], b.Pad[2],
		byte(b.SigLen>>24), byte(b.SigLen>>16), byte(b.SigLen>>8), byte(b.SigLen))
	return append(out, Marker...)
}

func TestParseModSig(t *testing.T) {
	payload := bytes.Repeat([]byte{'P'}, 100)
	sig := []byte("signature")
	x509 := modsigBuild(payload, []byte("signer"), []byte("kid"), sig,
		ModSig{Algo: 1, Hash: 4, IDType: IDTypeX509, SignerLen: 6, KeyIDLen: 3, SigLen: uint32(len(sig))})
	pkcs7 := modsigBuild(payload, nil, nil, sig, ModSig{IDType: IDTypePKCS7, SigLen: uint32(len(sig))})
	big := modsigBuild(make([]byte, MaxSignatureSize+10), nil, nil, nil, ModSig{IDType: 2, SigLen: MaxSignatureSize + 1})
	for _, tc := range []struct {
		name    string
		in      []byte
		off     int64 // -1: no offset
		errSub  string
		errIs   error
		payload int64
		signer  string
		keyID   string
	}{
		{name: "empty", in: nil, off: -1, errSub: "no module signature marker", errIs: ErrNotSigned},
		{name: "no marker", in: payload, off: -1, errSub: "no module signature marker", errIs: ErrNotSigned},
		{name: "marker only", in: []byte(Marker), off: 0, errSub: "too short"},
		{name: "truncated block", in: append(make([]byte, 11), Marker...), off: 0, errSub: "too short"},
		{name: "block but nothing before it", in: modsigBuild(nil, nil, nil, nil, ModSig{IDType: 2}), off: 8, errSub: "sig_len 0"},
		{name: "zero sig_len", in: modsigBuild(payload, nil, nil, nil, ModSig{IDType: 2}), off: 108, errSub: "sig_len 0"},
		{name: "sig_len larger than the file", in: modsigBuild(payload, nil, nil, sig, ModSig{IDType: 2, SigLen: 1 << 30}), off: 109 + 8, errSub: "does not fit"},
		{name: "sig_len equal to what remains", in: modsigBuild(nil, nil, nil, sig, ModSig{IDType: 2, SigLen: uint32(len(sig))}), off: int64(len(sig)) + 8, errSub: "takes all 9 bytes before the trailer, leaving no module"},
		{name: "sig_len above the limit", in: big, off: int64(MaxSignatureSize+10) + 8, errSub: "limit", errIs: ErrTooLarge},
		{name: "signer and key id do not fit", in: modsigBuild(nil, nil, nil, append([]byte{1}, sig...), ModSig{IDType: 1, SignerLen: 1, KeyIDLen: 1, SigLen: uint32(len(sig))}),
			off: int64(len(sig)) + 1 + 3, errSub: "signer_len 1 + key_id_len 1"},
		{name: "x509 trailer", in: x509, off: -2, payload: 100, signer: "signer", keyID: "kid"},
		{name: "pkcs7 trailer, zero signer and key id", in: pkcs7, off: -2, payload: 100},
		{name: "one byte of payload", in: modsigBuild([]byte{0}, nil, nil, sig, ModSig{IDType: 2, SigLen: uint32(len(sig))}), off: -2, payload: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewModule("t.ko", tc.in)
			tr, err := ParseModSig(m, "pkcs7")
			if tc.off == -2 {
				if err != nil {
					t.Fatal(err)
				}
				if tr.PayloadLen != tc.payload || string(tr.Signer) != tc.signer || string(tr.KeyID) != tc.keyID ||
					tr.BlockOff != int64(len(tc.in))-40 || tr.SigOff+int64(tr.Block.SigLen) != tr.BlockOff {
					t.Errorf("trailer %+v", tr)
				}
				return
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v, want *FormatError", err, err)
			}
			want := "t.ko: pkcs7: "
			if tc.off >= 0 {
				want += fmt.Sprintf("offset %d (0x%x): ", tc.off, tc.off)
			}
			if fe.Off != tc.off || fe.Format != "pkcs7" || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.errSub) {
				t.Errorf("error %q (off %d), want prefix %q and %q", err, fe.Off, want, tc.errSub)
			}
			if tc.errIs != nil && !errors.Is(err, tc.errIs) {
				t.Errorf("error %v is not %v", err, tc.errIs)
			}
		})
	}
}

// TestAppendModSigRoundTrip: AppendModSig equals the hand-built layout, and parsing it gives
// back every part.
func TestAppendModSigRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		payload, signer, kid, sig []byte
		blk                       ModSig
	}{
		{"pkcs7", []byte("module"), nil, nil, []byte("cms"), ModSig{IDType: IDTypePKCS7}},
		{"x509", []byte("module"), []byte("name"), bytes.Repeat([]byte{0xaa}, 20), []byte{1, 0, 9}, ModSig{Algo: 1, Hash: 4, IDType: IDTypeX509}},
		{"pgp, pad kept", []byte{0}, []byte("s"), []byte("k"), []byte("g"), ModSig{IDType: IDTypePGP, Pad: [3]byte{1, 2, 3}}},
		{"max ids", []byte("m"), bytes.Repeat([]byte{'s'}, 255), bytes.Repeat([]byte{'k'}, 255), []byte("x"), ModSig{IDType: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendModSig(tc.payload, tc.signer, tc.kid, tc.sig, tc.blk)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.blk
			want.SignerLen, want.KeyIDLen, want.SigLen = uint8(len(tc.signer)), uint8(len(tc.kid)), uint32(len(tc.sig))
			if hand := modsigBuild(tc.payload, tc.signer, tc.kid, tc.sig, want); !bytes.Equal(got, hand) {
				t.Fatalf("AppendModSig\n% x\nwant\n% x", got, hand)
			}
			m := NewModule("t", got)
			tr, err := ParseModSig(m, "x")
			if err != nil {
				t.Fatal(err)
			}
			s, _ := m.ReadAt("x", tr.SigOff, int64(tr.Block.SigLen))
			if tr.Block != want || !bytes.Equal(got[:tr.PayloadLen], tc.payload) || !bytes.Equal(tr.Signer, tc.signer) ||
				!bytes.Equal(tr.KeyID, tc.kid) || !bytes.Equal(s, tc.sig) {
				t.Errorf("parsed %+v", tr)
			}
		})
	}
	if _, err := AppendModSig(nil, make([]byte, 256), nil, []byte{1}, ModSig{}); err == nil {
		t.Error("256-byte signer accepted")
	}
	if _, err := AppendModSig(nil, nil, nil, make([]byte, MaxSignatureSize+1), ModSig{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized signature: %v", err)
	}
}
