package keys

import (
	"bytes"
	"crypto/rsa"
	"fmt"
	"math/big"
	"strconv"
)

// The gkh2004 kernel's compiled-in key: security/rsa/rsa_key.c as the 2004 tree's
// extract_pkey printed it from a gpg public key, the OpenPGP MPIs (be16 bit count ‖
// magnitude) of n and e as C byte arrays:
//
//	const char rsa_key_n[] = {
//	0x08, 0x00, 0xb0, ... };
//
//	const int rsa_key_n_size = 258;
//	const char rsa_key_e[] = {
//	0x00, 0x11, 0x01, 0x00, 0x01, };
//	const int rsa_key_e_size = 5;
//
// It lives here because a Ring must read it back (an archaeologist holding a 2004 kernel
// tree has its rsa_key.c, not the gpg key it came from); package elfsig owns the signature
// format and writes the file through RSAKeyC. The reader takes the arrays by name in either
// order, byte values in any C integer form strconv reads (0x.., decimal, octal), and checks
// each _size given against its array; other C text around them is ignored (inferred: the
// tree's own files were extract_pkey's output, which has none).

// maxRSAKeyCMPI bounds an rsa_key.c array: a 16384-bit modulus as an MPI. extract_pkey
// refused more than 4096 bits; the bound only keeps a hostile file from being taken as a key
// of any size.
const maxRSAKeyCMPI = 2 + 16384/8

// RSAKeyC returns k as the gkh2004 tree's security/rsa/rsa_key.c.
func RSAKeyC(k *rsa.PublicKey) []byte {
	var b bytes.Buffer
	arr := func(name string, x *big.Int) {
		mpi := AppendMPI(nil, x)
		fmt.Fprintf(&b, "const char rsa_key_%s[] = {\n", name)
		for _, c := range mpi {
			fmt.Fprintf(&b, "0x%02x, ", c)
		}
		b.WriteString("};\n")
		if name == "n" {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "const int rsa_key_%s_size = %d;\n", name, len(mpi))
	}
	arr("n", k.N)
	arr("e", big.NewInt(int64(k.E)))
	return b.Bytes()
}

// IsRSAKeyC reports whether data looks like an rsa_key.c: it declares both arrays.
func IsRSAKeyC(data []byte) bool {
	return bytes.Contains(data, []byte("rsa_key_n[]")) && bytes.Contains(data, []byte("rsa_key_e[]"))
}

// ParseRSAKeyC reads the RSA public key of an rsa_key.c (see RSAKeyC).
func ParseRSAKeyC(data []byte) (*rsa.PublicKey, error) {
	var mpis [2]*big.Int
	for i, name := range []string{"n", "e"} {
		arr, err := rsaKeyCArray(data, name)
		if err != nil {
			return nil, fmt.Errorf("rsa_key.c: %w", err)
		}
		if len(arr) < 2 {
			return nil, fmt.Errorf("rsa_key.c: rsa_key_%s has %d bytes, too few for an MPI", name, len(arr))
		}
		bits := int(arr[0])<<8 | int(arr[1])
		if want := (bits + 7) / 8; len(arr)-2 != want {
			return nil, fmt.Errorf("rsa_key.c: rsa_key_%s is an MPI of %d bits, which takes %d bytes, not %d", name, bits, want, len(arr)-2)
		}
		x := new(big.Int).SetBytes(arr[2:])
		if x.BitLen() != bits {
			return nil, fmt.Errorf("rsa_key.c: rsa_key_%s says %d bits and has %d", name, bits, x.BitLen())
		}
		mpis[i] = x
	}
	n, e := mpis[0], mpis[1]
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || n.Cmp(e) <= 0 {
		return nil, fmt.Errorf("rsa_key.c: exponent %v does not make an RSA key with this modulus", e)
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// rsaKeyCArray returns the bytes of `rsa_key_NAME[] = { ... }` in data, checked against
// `rsa_key_NAME_size = N` when the file has it. Errors give the byte offset of what is wrong.
func rsaKeyCArray(data []byte, name string) ([]byte, error) {
	decl := []byte("rsa_key_" + name + "[]")
	i := bytes.Index(data, decl)
	if i < 0 {
		return nil, fmt.Errorf("no rsa_key_%s array", name)
	}
	at := i + len(decl) // offsets below are into data
	open := bytes.IndexByte(data[at:], '{')
	end := bytes.IndexByte(data[at:], '}')
	if eq := bytes.TrimSpace(data[at : at+max(open, 0)]); open < 0 || end < open || len(eq) != 1 || eq[0] != '=' {
		return nil, fmt.Errorf("offset %d: rsa_key_%s: no { ... } initializer after the declaration", i, name)
	}
	open, end = at+open, at+end
	var arr []byte
	for start := open + 1; start < end; {
		next := bytes.IndexByte(data[start:end], ',')
		if next < 0 {
			next = end - start
		}
		tok := data[start : start+next]
		if t := bytes.TrimSpace(tok); len(t) > 0 { // an empty one: the trailing comma extract_pkey writes
			v, err := strconv.ParseUint(string(t), 0, 8)
			if err != nil {
				return nil, fmt.Errorf("offset %d: rsa_key_%s: %q is not a byte value", start+bytes.Index(tok, t), name, t)
			}
			if len(arr) == maxRSAKeyCMPI {
				return nil, fmt.Errorf("offset %d: rsa_key_%s: more than %d bytes", start, name, maxRSAKeyCMPI)
			}
			arr = append(arr, byte(v))
		}
		start += next + 1
	}
	sizeDecl := []byte("rsa_key_" + name + "_size")
	if j := bytes.Index(data, sizeDecl); j >= 0 {
		rest := data[j+len(sizeDecl):]
		eq, semi := bytes.IndexByte(rest, '='), bytes.IndexByte(rest, ';')
		if eq < 0 || semi < eq {
			return nil, fmt.Errorf("offset %d: rsa_key_%s_size has no value", j, name)
		}
		v := bytes.TrimSpace(rest[eq+1 : semi])
		if size, err := strconv.Atoi(string(v)); err != nil || size != len(arr) {
			return nil, fmt.Errorf("offset %d: rsa_key_%s_size is %q, but the array has %d bytes", j, name, v, len(arr))
		}
	}
	return arr, nil
}
