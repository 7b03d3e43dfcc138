//go:build cgo && openssl

package formats

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>

static EVP_PKEY *km_load(const unsigned char *der, long len) {
	const unsigned char *p = der;
	return d2i_AutoPrivateKey(NULL, &p, len);
}

static EVP_PKEY *km_load_pub(const unsigned char *der, long len) {
	const unsigned char *p = der;
	return d2i_PUBKEY(NULL, &p, len);
}

// km_public_ctx returns a context for sig^e mod n without padding (the caller checks it).
static EVP_PKEY_CTX *km_public_ctx(EVP_PKEY *pkey) {
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (ctx == NULL)
		return NULL;
	if (EVP_PKEY_verify_recover_init(ctx) <= 0 ||
			EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

// km_sign_ctx returns a context for PKCS#1 v1.5 signatures of mdname digests.
static EVP_PKEY_CTX *km_sign_ctx(EVP_PKEY *pkey, const char *mdname) {
	const EVP_MD *md = EVP_get_digestbyname(mdname);
	if (md == NULL)
		return NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (ctx == NULL)
		return NULL;
	if (EVP_PKEY_sign_init(ctx) <= 0 ||
			EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
			EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int km_sign(EVP_PKEY_CTX *ctx, const unsigned char *dig, size_t diglen,
		unsigned char *out, size_t *outlen) {
	return EVP_PKEY_sign(ctx, out, outlen, dig, diglen) > 0;
}

static int km_rsa_public(EVP_PKEY_CTX *ctx, const unsigned char *sig, size_t siglen,
		unsigned char *out, size_t *outlen) {
	return EVP_PKEY_verify_recover(ctx, out, outlen, sig, siglen) > 0;
}
*/
import "C"

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"strconv"
	"sync"
	"unsafe"
)

// The `openssl` build tag (with cgo) signs RSA PKCS#1 v1.5 digests with the system's libcrypto
// instead of crypto/rsa. The signature is the same (PKCS#1 v1.5 is deterministic:
// TestOpenSSLRSA checks byte identity); only the speed differs: OpenSSL 3 signs RSA-4096 in
// about 5 ms where Go's constant-time code takes 8 ms, which decides bulk re-signing. No Go
// binding to libcrypto is served by the module proxy this project uses (golang-fips/openssl
// and the like), so these few lines call EVP_PKEY_sign directly.

func init() {
	rsaBackend = opensslRSASign
	rsaPublicBackend = opensslRSAPublic
}

// opensslKeys caches one EVP_PKEY per private key for the life of the process (a batch signs
// thousands of modules with one key); EVP_PKEY is safe to share between threads for signing,
// each signature takes a context of its own from opensslSignCtxs.
var opensslKeys sync.Map // *rsa.PrivateKey -> *C.EVP_PKEY

// opensslSignCtxs holds the signing contexts of each key and hash (signKey -> *ctxPool).
var opensslSignCtxs sync.Map

type signKey struct {
	k *rsa.PrivateKey
	h crypto.Hash
}

// ctxPool keeps initialised EVP_PKEY_CTXs of one key and one operation for reuse, as `openssl
// speed` does. Making a context and initialising it (OpenSSL 3 fetches the algorithm from its
// provider each time) cost an RSA-4096 signature from Go's threads 4-8% against `openssl
// speed -multi 2`, and a verification more. A context serves one call at a time: get takes
// it from the pool, put gives it back; a batch never has more than its workers' worth.
type ctxPool struct {
	mu   sync.Mutex
	free []*C.EVP_PKEY_CTX
}

// maxIdleCtxs bounds the contexts a pool keeps; put frees the others.
const maxIdleCtxs = 64

func (p *ctxPool) get(fresh func() *C.EVP_PKEY_CTX) *C.EVP_PKEY_CTX {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return c
	}
	p.mu.Unlock()
	return fresh()
}

// put returns c to the pool after a call that succeeded; after a failure the caller frees c
// instead, so that no context in an unknown state is reused.
func (p *ctxPool) put(c *C.EVP_PKEY_CTX) {
	p.mu.Lock()
	if len(p.free) < maxIdleCtxs {
		p.free = append(p.free, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		C.EVP_PKEY_CTX_free(c)
	}
}

var opensslMD = map[crypto.Hash]string{
	crypto.SHA1: "SHA1", crypto.SHA224: "SHA224", crypto.SHA256: "SHA256",
	crypto.SHA384: "SHA384", crypto.SHA512: "SHA512",
	crypto.SHA3_256: "SHA3-256", crypto.SHA3_384: "SHA3-384", crypto.SHA3_512: "SHA3-512",
}

func opensslRSASign(k *rsa.PrivateKey, digest []byte, h crypto.Hash) ([]byte, bool, error) {
	name, ok := opensslMD[h]
	if !ok || len(digest) == 0 {
		return nil, false, nil
	}
	pk, ok := opensslKeys.Load(k)
	if !ok {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, false, nil
		}
		p := C.km_load((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
		if p == nil {
			return nil, false, nil
		}
		pk, _ = opensslKeys.LoadOrStore(k, p)
	}
	pool, ok := opensslSignCtxs.Load(signKey{k, h})
	if !ok {
		pool, _ = opensslSignCtxs.LoadOrStore(signKey{k, h}, &ctxPool{})
	}
	ctx := pool.(*ctxPool).get(func() *C.EVP_PKEY_CTX {
		cname := C.CString(name)
		defer C.free(unsafe.Pointer(cname))
		return C.km_sign_ctx(pk.(*C.EVP_PKEY), cname)
	})
	if ctx == nil {
		return nil, true, errors.New("openssl: cannot set up RSA signing")
	}
	out := make([]byte, k.Size())
	outlen := C.size_t(len(out))
	if C.km_sign(ctx, (*C.uchar)(unsafe.Pointer(&digest[0])), C.size_t(len(digest)),
		(*C.uchar)(unsafe.Pointer(&out[0])), &outlen) != 1 {
		C.EVP_PKEY_CTX_free(ctx)
		return nil, true, errors.New("openssl: RSA signing failed")
	}
	pool.(*ctxPool).put(ctx)
	return out[:outlen], true, nil
}

// opensslPubKeys caches one EVP_PKEY per RSA public key, with a pool of its contexts, by
// modulus and exponent (a key parsed afresh for every module, from a certificate embedded in
// each CMS, is still one key). It holds at most maxOpenSSLPubKeys keys; others are loaded and
// freed per call.
var (
	opensslPubMu   sync.Mutex
	opensslPubKeys = map[string]*opensslPub{}
)

type opensslPub struct {
	pk   *C.EVP_PKEY
	ctxs ctxPool
}

const maxOpenSSLPubKeys = 64

func opensslRSAPublic(k *rsa.PublicKey, sig []byte) ([]byte, bool) {
	size := k.Size()
	id := string(k.N.Bytes()) + "\x00" + strconv.Itoa(k.E)
	opensslPubMu.Lock()
	pub := opensslPubKeys[id]
	opensslPubMu.Unlock()
	// release gives the context back after a call that succeeded: to the key's pool, or, for
	// a key not cached, to libcrypto with the key.
	var release func(*C.EVP_PKEY_CTX)
	if pub == nil {
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return nil, false
		}
		pk := C.km_load_pub((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
		if pk == nil {
			return nil, false
		}
		pub = &opensslPub{pk: pk}
		opensslPubMu.Lock()
		if old := opensslPubKeys[id]; old != nil {
			C.EVP_PKEY_free(pk)
			pub = old
		} else if len(opensslPubKeys) < maxOpenSSLPubKeys {
			opensslPubKeys[id] = pub
		} else {
			defer C.EVP_PKEY_free(pk)
			release = func(c *C.EVP_PKEY_CTX) { C.EVP_PKEY_CTX_free(c) }
		}
		opensslPubMu.Unlock()
	}
	if release == nil {
		release = pub.ctxs.put
	}
	ctx := pub.ctxs.get(func() *C.EVP_PKEY_CTX { return C.km_public_ctx(pub.pk) })
	if ctx == nil {
		return nil, false
	}
	in := make([]byte, size) // libcrypto wants exactly RSA_size bytes
	copy(in[size-len(sig):], sig)
	out := make([]byte, size)
	outlen := C.size_t(len(out))
	if C.km_rsa_public(ctx, (*C.uchar)(unsafe.Pointer(&in[0])), C.size_t(size),
		(*C.uchar)(unsafe.Pointer(&out[0])), &outlen) != 1 || int(outlen) != size {
		// sig not below n, or anything else libcrypto refuses: math/big decides, so the
		// answer never depends on the build.
		C.EVP_PKEY_CTX_free(ctx)
		return nil, false
	}
	release(ctx)
	return out, true
}
