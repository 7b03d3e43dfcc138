package keys

import (
	"crypto/rsa"
	"crypto/sha1"
	"fmt"
	"math/big"
)

// The digsig v1 public-key blob (pubkey_hdr + two MPIs), what `evmctl import --rsa` loads
// as a `user` key: 01 ‖ be32 timestamp (0) ‖ algo 00 (RSA) ‖ nmpi 02 ‖ MPI(n) ‖ MPI(e).
// It lives here because a Ring must recognise it; package digsig owns the signature format.

// IsDigsigBlob reports whether data has the shape of a digsig v1 public-key blob.
func IsDigsigBlob(data []byte) bool {
	if len(data) < 7+4 || data[0] != 1 || data[5] != 0 || data[6] != 2 {
		return false
	}
	_, err := ParseDigsigBlob(data)
	return err == nil
}

// ParseDigsigBlob parses a digsig v1 public-key blob into an RSA public key.
func ParseDigsigBlob(data []byte) (*rsa.PublicKey, error) {
	if len(data) < 7 || data[0] != 1 || data[5] != 0 || data[6] != 2 {
		return nil, fmt.Errorf("digsig key blob: bad header")
	}
	rest := data[7:]
	var mpis [2]*big.Int
	for i := range mpis {
		if len(rest) < 2 {
			return nil, fmt.Errorf("digsig key blob: truncated MPI at offset %d", len(data)-len(rest))
		}
		bits := int(rest[0])<<8 | int(rest[1])
		n := (bits + 7) / 8
		if len(rest)-2 < n {
			return nil, fmt.Errorf("digsig key blob: MPI of %d bits at offset %d runs past the end", bits, len(data)-len(rest))
		}
		mpis[i] = new(big.Int).SetBytes(rest[2 : 2+n])
		rest = rest[2+n:]
	}
	if len(rest) != 0 || !mpis[1].IsInt64() || mpis[1].Int64() < 3 || mpis[1].Int64() > 1<<31-1 {
		return nil, fmt.Errorf("digsig key blob: trailing bytes or bad exponent")
	}
	return &rsa.PublicKey{N: mpis[0], E: int(mpis[1].Int64())}, nil
}

// DigsigBlob returns the digsig v1 public-key blob of an RSA key.
func DigsigBlob(k *rsa.PublicKey) []byte {
	b := []byte{1, 0, 0, 0, 0, 0, 2}
	b = AppendMPI(b, k.N)
	b = AppendMPI(b, big.NewInt(int64(k.E)))
	return b
}

// DigsigKeyID returns the digsig v1 key id: SHA1(blob)[12:20].
func DigsigKeyID(k *rsa.PublicKey) [8]byte {
	sum := sha1.Sum(DigsigBlob(k))
	var id [8]byte
	copy(id[:], sum[12:20])
	return id
}

// AppendMPI appends an OpenPGP MPI (RFC 4880 §3.2): be16 exact bit count, magnitude without leading zeros.
func AppendMPI(b []byte, x *big.Int) []byte {
	bits := x.BitLen()
	b = append(b, byte(bits>>8), byte(bits))
	return append(b, x.Bytes()...)
}
