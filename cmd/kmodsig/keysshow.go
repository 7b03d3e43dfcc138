package main

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/kmodsig/kmodsig/gpgsig"
	"github.com/kmodsig/kmodsig/keys"
)

// KeysShowCmd is `kmodsig keys show`.
type KeysShowCmd struct {
	Path string `arg:"" name:"KEY" optional:"" help:"A private key (any form kmodsig reads), or public keys: certificates, PEM/DER public keys, an OpenPGP keyring, a digsig v1 key blob."`
	Key  string `help:"The same as KEY, as sign and keys export take it."`
	Cert string `help:"Certificate for a private key (else derived); alone, the certificate's own key."`
}

// file is the one file keys show reads keys from (KEY, --key, or --cert alone), and the
// certificate given for a private key in it.
func (c *KeysShowCmd) file() (path, cert string, err error) {
	switch {
	case c.Path != "" && c.Key != "":
		return "", "", usage(errors.New("give the key as KEY or as --key, not both"))
	case c.Path != "":
		return c.Path, c.Cert, nil
	case c.Key != "":
		return c.Key, c.Cert, nil
	case c.Cert != "":
		return c.Cert, "", nil
	}
	return "", "", usage(errors.New(`expected "<KEY>" (or --key, or --cert)`))
}

// Run prints, for each key, the ids the eras name it by, in the form inspect prints a
// signature's sig_key, so that a signature can be matched to its key by eye: the OpenPGP key
// id (gpg2012, rhel5, rhel6, gkh2004), the digsig v1 id, and from the certificate the
// subjectKeyIdentifier (x509, pkcs7 -k), the digsig v2 id and the kernel's key description.
// A private key shows the certificate given with it or derived from it; a file of public
// keys (a kernel's trusted certificates, a modsign.pub) shows each key in it, the OpenPGP id
// of a certificate or bare key being the one kmodsig derives (created keys.DefaultCreated),
// which is how a keyring matches it.
func (c *KeysShowCmd) Run(e *env) error {
	path, certPath, err := c.file()
	if err != nil {
		return err
	}
	kf := KeyFlags{Key: path, Cert: certPath}
	k, err := kf.material()
	if err == nil {
		defer k.Close()
		v := keyView{pub: k.Public()}
		v.cert, v.certErr = k.Certificate()
		if id, err := gpgsig.SigningKeyID(k); err == nil {
			// The signing key is the primary key or a subkey of k's OpenPGP key (SigningKeyID
			// made or read it): the ring lookup finds either.
			created := k.CreationTime()
			if pk := (&keys.Ring{PGP: openpgp.EntityList{k.PGP}}).PGPKeyByID(id); pk != nil && pk.Key != nil {
				created = pk.Key.CreationTime
			}
			v.pgp = []pgpID{{id: id, created: created, derived: k.OpenPGPDerived()}}
			if pi := k.PGP.PrimaryIdentity(); pi != nil && !k.OpenPGPDerived() {
				v.uid = pi.Name // a gpg key's own; a derived key's is kmodsig's default
			}
		}
		v.print(e.stdout)
		return nil
	}
	if !errors.Is(err, keys.ErrNoKey) || certPath != "" {
		return usage(err)
	}
	// No private key: the file's public keys, if it has any.
	r, rerr := keys.LoadRing(path)
	if rerr != nil {
		return usage(rerr)
	}
	var views []keyView
	for _, ent := range r.PGP {
		views = append(views, entityView(ent))
	}
	for _, cert := range r.Certs {
		views = append(views, derivedView(cert.PublicKey, cert))
	}
	for _, pub := range r.Keys {
		views = append(views, derivedView(pub, nil))
	}
	for i, v := range views {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		v.print(e.stdout)
	}
	return nil
}

// keyView is what keys show prints of one key.
type keyView struct {
	pub     crypto.PublicKey
	uid     string
	pgp     []pgpID
	cert    *x509.Certificate
	certErr error // why a private key has no certificate
}

// pgpID is one OpenPGP key id and the creation time it was computed with.
type pgpID struct {
	id      uint64
	created time.Time
	derived bool // derived by kmodsig from a key that is not an OpenPGP key
	subkey  bool
}

func derivedView(pub crypto.PublicKey, cert *x509.Certificate) keyView {
	v := keyView{pub: pub, cert: cert}
	if id, ok := keys.OpenPGPKeyID(pub, keys.DefaultCreated); ok {
		v.pgp = []pgpID{{id: id, created: keys.DefaultCreated, derived: true}}
	}
	return v
}

func entityView(ent *openpgp.Entity) keyView {
	v := keyView{pub: ent.PrimaryKey.PublicKey}
	if id := ent.PrimaryIdentity(); id != nil {
		v.uid = id.Name
	}
	v.pgp = []pgpID{{id: ent.PrimaryKey.KeyId, created: ent.PrimaryKey.CreationTime}}
	for _, sk := range ent.Subkeys {
		if sk.PublicKey != nil {
			v.pgp = append(v.pgp, pgpID{id: sk.PublicKey.KeyId, created: sk.PublicKey.CreationTime, subkey: true})
		}
	}
	return v
}

func (v keyView) print(w io.Writer) {
	field(w, "key", keys.TypeName(v.pub))
	if v.uid != "" {
		field(w, "uid", v.uid)
	}
	for _, p := range v.pgp {
		name, how := "openpgp_id", "created "
		if p.subkey {
			name = "openpgp_subkey"
		}
		if p.derived {
			how = "derived, created "
		}
		var b [8]byte
		for i := range b {
			b[i] = byte(p.id >> (56 - 8*i))
		}
		fieldHex(w, name, fmt.Sprintf("%s (%s%s)", colonHex(b[:]), how, p.created.UTC().Format(time.RFC3339)))
	}
	if pub, ok := v.pub.(*rsa.PublicKey); ok {
		id := keys.DigsigKeyID(pub)
		fieldHex(w, "digsig_v1_id", colonHex(id[:]))
	}
	switch {
	case v.cert != nil:
		field(w, "subject", v.cert.Subject.String())
		fieldHex(w, "serial", colonHex(v.cert.SerialNumber.Bytes()))
		if len(v.cert.SubjectKeyId) == 0 {
			field(w, "skid", "none")
			break
		}
		fieldHex(w, "skid", colonHex(v.cert.SubjectKeyId))
		field(w, "kernel_desc", keys.Description(v.cert))
		if n := len(v.cert.SubjectKeyId); n >= 4 {
			fieldHex(w, "digsig_v2_id", colonHex(v.cert.SubjectKeyId[n-4:]))
		}
	case v.certErr != nil:
		field(w, "certificate", "none ("+v.certErr.Error()+")")
	}
}
