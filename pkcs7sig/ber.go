package pkcs7sig

import "fmt"

// maxBERDepth bounds the nesting the BER normaliser follows. The kernel's ASN.1 decoder
// stacks at most 10 constructed levels for its grammar; real CMS blobs with embedded
// certificates nest about 12 deep, so 64 is generous and still bounds recursion.
const maxBERDepth = 64

// berError is a BER decoding failure at an offset of the input.
type berError struct {
	off int
	msg string
}

func (e *berError) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }

// berToDER rewrites BER to DER lengths: indefinite lengths (constructed only, ended by
// 00 00) and non-minimal length octets become minimal definite lengths; tags and contents
// are kept. Constructed string types are not flattened (the kernel does not flatten them
// either). Trailing bytes after the first element are returned unchanged after it.
func berToDER(b []byte) ([]byte, error) {
	out, n, err := berElem(b, 0, 0)
	if err != nil {
		return nil, err
	}
	return append(out, b[n:]...), nil
}

// berElem normalises the element at b[off:] and returns its DER form and its end offset.
func berElem(b []byte, off, depth int) ([]byte, int, error) {
	if depth > maxBERDepth {
		return nil, 0, &berError{off, "nesting too deep"}
	}
	p := off
	if len(b)-p < 2 {
		return nil, 0, &berError{p, "truncated element header"}
	}
	tagStart := p
	constructed := b[p]&0x20 != 0
	if b[p]&0x1f == 0x1f {
		p++
		for i := 0; ; i++ {
			if p >= len(b) || i >= 4 {
				return nil, 0, &berError{tagStart, "bad high tag number"}
			}
			c := b[p]
			p++
			if c&0x80 == 0 {
				break
			}
		}
	} else {
		p++
	}
	tag := b[tagStart:p]
	if p >= len(b) {
		return nil, 0, &berError{p, "truncated length"}
	}
	l := int(b[p])
	p++
	var content []byte
	switch {
	case l == 0x80:
		if !constructed {
			return nil, 0, &berError{tagStart, "indefinite length on a primitive element"}
		}
		for {
			if len(b)-p < 2 {
				return nil, 0, &berError{p, "missing end-of-contents in indefinite length"}
			}
			if b[p] == 0 && b[p+1] == 0 {
				p += 2
				break
			}
			child, end, err := berElem(b, p, depth+1)
			if err != nil {
				return nil, 0, err
			}
			content = append(content, child...)
			p = end
		}
	default:
		if l > 0x80 {
			n := l & 0x7f
			if n > 4 || len(b)-p < n {
				return nil, 0, &berError{p - 1, "unsupported or truncated length"}
			}
			l = 0
			for i := 0; i < n; i++ {
				l = l<<8 | int(b[p+i])
			}
			p += n
		}
		if l > len(b)-p {
			return nil, 0, &berError{p, fmt.Sprintf("length %d exceeds the %d bytes that remain", l, len(b)-p)}
		}
		end := p + l
		if constructed {
			for p < end {
				child, cend, err := berElem(b[:end], p, depth+1)
				if err != nil {
					return nil, 0, err
				}
				content = append(content, child...)
				p = cend
			}
		} else {
			content = b[p:end]
			p = end
		}
	}
	out := append([]byte(nil), tag...)
	out = appendDERLength(out, len(content))
	return append(out, content...), p, nil
}

func appendDERLength(out []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(out, byte(n))
	case n < 0x100:
		return append(out, 0x81, byte(n))
	case n < 0x10000:
		return append(out, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
