//go:build cgo && openssl

package formats

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/evp.h>
#include <stdlib.h>

static EVP_MD_CTX *km_md_new(const char *name) {
	const EVP_MD *md = EVP_get_digestbyname(name);
	if (md == NULL)
		return NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return NULL;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int km_md_reset(EVP_MD_CTX *ctx) {
	return EVP_DigestInit_ex(ctx, NULL, NULL) == 1;
}

static int km_md_update(EVP_MD_CTX *ctx, const void *p, size_t n) {
	return EVP_DigestUpdate(ctx, p, n) == 1;
}

// km_md_sum finishes a copy of ctx into out, leaving ctx as it was (hash.Hash's Sum).
static int km_md_sum(EVP_MD_CTX *ctx, unsigned char *out) {
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (c == NULL)
		return 0;
	int ok = EVP_MD_CTX_copy_ex(c, ctx) == 1 && EVP_DigestFinal_ex(c, out, NULL) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}
*/
import "C"

import (
	"crypto"
	"hash"
	"runtime"
	"unsafe"
)

func init() {
	hashBackend = opensslHash
}

// opensslDigests are the hashes the openssl build takes from libcrypto: SHA-384 and SHA-512.
// OpenSSL 3's SHA-512 code hashed 64 KiB at a median 474 MB/s on this project's machine
// where crypto/sha512 gave 412 MB/s (BenchmarkHash384, ten interleaved runs each), and an
// ECDSA P-384 batch spends a fifth of its CPU hashing: over the Debian set it took 2.33-2.69
// s instead of 2.48-2.83 s (five alternating pairs, all won), with the same output bytes.
// SHA-256 is not among them: both use the CPU's SHA instructions, at the same speed.
var opensslDigests = map[crypto.Hash]string{crypto.SHA384: "SHA384", crypto.SHA512: "SHA512"}

// opensslHash returns a libcrypto hash.Hash for h, or nil for a hash it leaves to Go (or
// that libcrypto cannot set up, where Go serves instead).
func opensslHash(h crypto.Hash) hash.Hash {
	name, ok := opensslDigests[h]
	if !ok {
		return nil
	}
	cname := C.CString(name)
	ctx := C.km_md_new(cname)
	C.free(unsafe.Pointer(cname))
	if ctx == nil {
		return nil
	}
	d := &evpDigest{ctx: ctx, size: h.Size(), block: 128}
	runtime.AddCleanup(d, func(c *C.EVP_MD_CTX) { C.EVP_MD_CTX_free(c) }, ctx)
	return d
}

// evpDigest is a hash.Hash over an EVP_MD_CTX. A failure inside libcrypto (which for these
// digests means out of memory) panics, as hash.Hash has no way to return it.
type evpDigest struct {
	ctx         *C.EVP_MD_CTX
	size, block int
}

func (d *evpDigest) Write(p []byte) (int, error) {
	if len(p) > 0 {
		if C.km_md_update(d.ctx, unsafe.Pointer(&p[0]), C.size_t(len(p))) != 1 {
			panic("formats: libcrypto digest update failed")
		}
	}
	runtime.KeepAlive(d)
	return len(p), nil
}

func (d *evpDigest) Sum(b []byte) []byte {
	var out [C.EVP_MAX_MD_SIZE]byte
	if C.km_md_sum(d.ctx, (*C.uchar)(unsafe.Pointer(&out[0]))) != 1 {
		panic("formats: libcrypto digest final failed")
	}
	runtime.KeepAlive(d)
	return append(b, out[:d.size]...)
}

func (d *evpDigest) Reset() {
	if C.km_md_reset(d.ctx) != 1 {
		panic("formats: libcrypto digest init failed")
	}
	runtime.KeepAlive(d)
}

func (d *evpDigest) Size() int      { return d.size }
func (d *evpDigest) BlockSize() int { return d.block }
