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

// km_rsa_public computes sig^e mod n (no padding: the caller checks it), out of RSA_size bytes.
static int km_rsa_public(EVP_PKEY *pkey, const unsigned char *sig, size_t siglen,
		unsigned char *out, size_t *outlen) {
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (ctx == NULL)
		return 0;
	int ok = EVP_PKEY_verify_recover_init(ctx) > 0 &&
		EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) > 0 &&
		EVP_PKEY_verify_recover(ctx, out, outlen, sig, siglen) > 0;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static int km_sign(EVP_PKEY *pkey, const char *mdname, const unsigned char *dig, size_t diglen,
		unsigned char *out, size_t *outlen) {
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (ctx == NULL)
		return 0;
	const EVP_MD *md = EVP_get_digestbyname(mdname);
	int ok = md != NULL && EVP_PKEY_sign_init(ctx) > 0 &&
		EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
		EVP_PKEY_CTX_set_signature_md(ctx, md) > 0 &&
		EVP_PKEY_sign(ctx, out, outlen, dig, diglen) > 0;
	EVP_PKEY_CTX_free(ctx);
	return ok;
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
// each call makes its own context.
var opensslKeys sync.Map // *rsa.PrivateKey -> *C.EVP_PKEY

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
	out := make([]byte, k.Size())
	outlen := C.size_t(len(out))
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	if C.km_sign(pk.(*C.EVP_PKEY), cname, (*C.uchar)(unsafe.Pointer(&digest[0])), C.size_t(len(digest)),
		(*C.uchar)(unsafe.Pointer(&out[0])), &outlen) != 1 {
		return nil, true, errors.New("openssl: RSA signing failed")
	}
	return out[:outlen], true, nil
}

// opensslPubKeys caches one EVP_PKEY per RSA public key, by modulus and exponent (a key parsed
// afresh for every module, from a certificate embedded in each CMS, is still one key). It
// holds at most maxOpenSSLPubKeys keys; others are loaded and freed per call.
var (
	opensslPubMu   sync.Mutex
	opensslPubKeys = map[string]*C.EVP_PKEY{}
)

const maxOpenSSLPubKeys = 64

func opensslRSAPublic(k *rsa.PublicKey, sig []byte) ([]byte, bool) {
	size := k.Size()
	id := string(k.N.Bytes()) + "\x00" + strconv.Itoa(k.E)
	opensslPubMu.Lock()
	pk := opensslPubKeys[id]
	opensslPubMu.Unlock()
	if pk == nil {
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return nil, false
		}
		if pk = C.km_load_pub((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der))); pk == nil {
			return nil, false
		}
		opensslPubMu.Lock()
		if old := opensslPubKeys[id]; old != nil {
			C.EVP_PKEY_free(pk)
			pk = old
		} else if len(opensslPubKeys) < maxOpenSSLPubKeys {
			opensslPubKeys[id] = pk
		} else {
			defer C.EVP_PKEY_free(pk)
		}
		opensslPubMu.Unlock()
	}
	in := make([]byte, size) // libcrypto wants exactly RSA_size bytes
	copy(in[size-len(sig):], sig)
	out := make([]byte, size)
	outlen := C.size_t(len(out))
	if C.km_rsa_public(pk, (*C.uchar)(unsafe.Pointer(&in[0])), C.size_t(size),
		(*C.uchar)(unsafe.Pointer(&out[0])), &outlen) != 1 || int(outlen) != size {
		// sig not below n, or anything else libcrypto refuses: math/big decides, so the
		// answer never depends on the build.
		return nil, false
	}
	return out, true
}
