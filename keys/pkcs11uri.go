package keys

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// PKCS11ModuleEnv is the environment variable naming the PKCS#11 module (shared library) when
// a `pkcs11:` URI has no module-path attribute: the name libp11's ENGINE and p11tool use.
const PKCS11ModuleEnv = "PKCS11_MODULE_PATH"

// ErrPKCS11URI reports a `pkcs11:` URI that cannot be parsed or selects nothing.
var ErrPKCS11URI = errors.New("bad pkcs11 URI")

// PKCS11URI is a parsed RFC 7512 `pkcs11:` URI: the attributes kmodsig uses to find a
// signing key on a token. Path attributes (separated by ';') select the token and the
// object; query attributes (after '?', separated by '&') carry the PIN and the module.
// Values are percent-decoded. Unknown attributes are kept in Other and otherwise ignored,
// as RFC 7512 §2.4 allows for "vendor-specific" ones; a repeated attribute is an error.
type PKCS11URI struct {
	Token      string // token: the token label
	Serial     string // serial: the token serial number
	SlotID     *int   // slot-id: the slot number (a decimal integer)
	Object     string // object: the object label (CKA_LABEL)
	ID         []byte // id: the object id (CKA_ID), raw bytes
	Type       string // type: private, public, cert, secret-key, data
	PINValue   string // pin-value
	PINSource  string // pin-source: a file (optionally "file:" + path) holding the PIN
	ModulePath string // module-path: the PKCS#11 shared library
	ModuleName string // module-name: a library name without directory or suffix

	Other map[string]string // every other attribute, decoded
}

// ParsePKCS11URI parses an RFC 7512 `pkcs11:` URI, as sign-file and the OpenSSL engine take
// them (`pkcs11:token=modsign;object=modkey;type=private;pin-value=1234`). pin-value and
// module-path are accepted in the path part too, where OpenSSL's libp11 allows them.
func ParsePKCS11URI(s string) (*PKCS11URI, error) {
	rest, ok := strings.CutPrefix(s, "pkcs11:")
	if !ok {
		return nil, fmt.Errorf("%w: does not start with \"pkcs11:\"", ErrPKCS11URI)
	}
	path, query, _ := strings.Cut(rest, "?")
	u := &PKCS11URI{}
	seen := map[string]bool{}
	set := func(attr string) error {
		if attr == "" {
			return nil
		}
		k, v, ok := strings.Cut(attr, "=")
		if !ok {
			return fmt.Errorf("%w: attribute %q has no '='", ErrPKCS11URI, attr)
		}
		if seen[k] {
			return fmt.Errorf("%w: attribute %q given twice", ErrPKCS11URI, k)
		}
		seen[k] = true
		val, err := url.PathUnescape(v)
		if err != nil {
			return fmt.Errorf("%w: attribute %q: %v", ErrPKCS11URI, k, err)
		}
		switch k {
		case "token":
			u.Token = val
		case "serial":
			u.Serial = val
		case "slot-id":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return fmt.Errorf("%w: slot-id %q is not a slot number", ErrPKCS11URI, val)
			}
			u.SlotID = &n
		case "object":
			u.Object = val
		case "id":
			u.ID = []byte(val)
		case "type":
			switch val {
			case "private", "public", "cert", "secret-key", "data":
			default:
				return fmt.Errorf("%w: unknown type %q", ErrPKCS11URI, val)
			}
			u.Type = val
		case "pin-value":
			u.PINValue = val
		case "pin-source":
			u.PINSource = val
		case "module-path":
			u.ModulePath = val
		case "module-name":
			u.ModuleName = val
		default:
			if u.Other == nil {
				u.Other = map[string]string{}
			}
			u.Other[k] = val
		}
		return nil
	}
	for _, a := range strings.Split(path, ";") {
		if err := set(a); err != nil {
			return nil, err
		}
	}
	if query != "" {
		for _, a := range strings.Split(query, "&") {
			if err := set(a); err != nil {
				return nil, err
			}
		}
	}
	if u.Type != "" && u.Type != "private" {
		return nil, fmt.Errorf("%w: type=%s does not name a private key", ErrPKCS11URI, u.Type)
	}
	if u.Object == "" && len(u.ID) == 0 {
		return nil, fmt.Errorf("%w: give object= or id= to select the key", ErrPKCS11URI)
	}
	return u, nil
}

// Module returns the PKCS#11 library to load: module-path, else PKCS11_MODULE_PATH, else
// module-name looked up in the directories p11-kit and Debian install modules into.
func (u *PKCS11URI) Module() (string, error) {
	if u.ModulePath != "" {
		return u.ModulePath, nil
	}
	if p := os.Getenv(PKCS11ModuleEnv); p != "" {
		return p, nil
	}
	if u.ModuleName != "" && !strings.ContainsAny(u.ModuleName, "/\\") {
		for _, dir := range []string{"/usr/lib/x86_64-linux-gnu/pkcs11", "/usr/lib/pkcs11", "/usr/lib/softhsm", "/usr/lib64/pkcs11"} {
			for _, name := range []string{u.ModuleName + ".so", "lib" + u.ModuleName + ".so"} {
				p := dir + "/" + name
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
			}
		}
		return "", fmt.Errorf("%w: module-name=%s not found", ErrPKCS11URI, u.ModuleName)
	}
	return "", fmt.Errorf("%w: no module-path attribute and %s is not set (e.g. /usr/lib/softhsm/libsofthsm2.so)", ErrPKCS11URI, PKCS11ModuleEnv)
}

// PIN returns the user PIN: pin-value, else the first line of the pin-source file, else
// KBUILD_SIGN_PIN (sign-file's convention). ok is false when none is given.
func (u *PKCS11URI) PIN() (pin string, ok bool, err error) {
	if u.PINValue != "" {
		return u.PINValue, true, nil
	}
	if u.PINSource != "" {
		p := strings.TrimPrefix(u.PINSource, "file:")
		b, err := readFile(p)
		if err != nil {
			return "", false, fmt.Errorf("pin-source: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimSuffix(line, "\r"), true, nil
	}
	pin, ok = lookupPIN()
	return pin, ok, nil
}

// RedactPKCS11URI returns the URI text s with any pin-value replaced by "***", for messages.
func RedactPKCS11URI(s string) string {
	out := []byte{}
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "pin-value=")
		if j < 0 {
			out = append(out, s[i:]...)
			break
		}
		j += i + len("pin-value=")
		out = append(out, s[i:j]...)
		out = append(out, "***"...)
		k := strings.IndexAny(s[j:], ";&?")
		if k < 0 {
			break
		}
		i = j + k
	}
	return string(out)
}
