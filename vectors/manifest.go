package vectors

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Algorithm is the manifest's "algorithm" field.
const Algorithm = "kmodsig module signatures"

// SchemaFile is the name of the JSON Schema written next to the manifest and named by its
// "schema" field; ManifestFile is the manifest's name.
const (
	SchemaFile   = "schema.json"
	ManifestFile = "manifest.json"
)

// Schema is the JSON Schema (draft 2020-12) of the manifest.
//
//go:embed schema.json
var Schema []byte

// Results of a test ("result"), as in Wycheproof.
const (
	// Valid: a good signature by a trusted key; the era's kernel loads the module even when
	// enforcing.
	Valid = "valid"
	// Invalid: the era's kernel refuses the module when enforcing (unsigned, unknown key,
	// bad or corrupt signature, unsupported algorithm).
	Invalid = "invalid"
	// Acceptable: the signature is cryptographically good, but whether a kernel of the era
	// accepts it depends on the kernel release or rule named by the flags.
	Acceptable = "acceptable"
)

// Manifest is the index of a vector set, shaped like a Wycheproof test-vector file:
// groups per format, kernel model and key; one test per artifact.
type Manifest struct {
	Algorithm     string `json:"algorithm"`
	Schema        string `json:"schema"`
	NumberOfTests int    `json:"numberOfTests"`
	// Header says what the set is, in prose.
	Header []string `json:"header"`
	// Notes explains every flag used by a test.
	Notes      map[string]string `json:"notes"`
	TestGroups []*Group          `json:"testGroups"`
}

// Group is the tests of one format, verified under one kernel model against one keyring.
type Group struct {
	Format string `json:"format"`
	// Kernel is the kernel model (formats.Policy.Kernel) whose results the tests give.
	Kernel string `json:"kernel"`
	Key    Key    `json:"key"`
	// Comment says what sets this group apart.
	Comment string  `json:"comment,omitempty"`
	Tests   []*Test `json:"tests"`
}

// Key describes the group's trusted key and where its public forms are.
type Key struct {
	// Name is the committed test key (testdata/keys/NAME.*).
	Name string `json:"name"`
	Type string `json:"type"` // "RSA", "ECDSA", "DSA"
	Bits int    `json:"bits"`
	// KeyID is the identifier the era's signatures carry for this key (hex): the OpenPGP key
	// id, the x509 description, the certificate SKID, the digsig v1 key id.
	KeyID string `json:"keyId,omitempty"`
	// Keyring lists the files (relative to the manifest) that make the trusted keyring of
	// the group: give them to `kmodsig verify --keyring`.
	Keyring []string `json:"keyring"`
	// Export is the key in the form the era's kernel compiled in or loaded
	// (`kmodsig keys export --format ID`), when the format has one.
	Export string `json:"export,omitempty"`
}

// Test is one vector.
type Test struct {
	TcID    int    `json:"tcId"`
	Comment string `json:"comment"`
	// File is the artifact (relative to the manifest).
	File   string `json:"file"`
	Result string `json:"result"`
	// Outcome is the verdict (formats.Outcome) and Permissive/Enforcing the errno names the
	// era's kernel returns (formats.Errno), from the FORMATS.md result tables.
	Outcome    string   `json:"outcome"`
	Permissive string   `json:"permissive"`
	Enforcing  string   `json:"enforcing"`
	Hash       string   `json:"hash,omitempty"`
	Flags      []string `json:"flags"`

	// Oracle is what an independent tool must say about the artifact's signature (used by
	// the package's tests, not written to the manifest).
	Oracle Oracle `json:"-"`
}

// Oracle is the independent check of one vector.
type Oracle struct {
	// Tool is "openssl-cms", "openssl-dgst", "gpg", "gpg-decrypt", "evmctl" or "" (our
	// verifier only).
	Tool string
	// Good says whether the tool must accept the signature over the payload.
	Good bool
	// Key names the committed key whose public form the tool is given (default: the
	// group's key).
	Key string
	// Why explains a missing check.
	Why string
}

// Marshal encodes the manifest as indented JSON with a final newline (stable bytes).
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Tests returns every test with its group, in manifest order.
func (m *Manifest) Tests() []GroupTest {
	var out []GroupTest
	for _, g := range m.TestGroups {
		for _, t := range g.Tests {
			out = append(out, GroupTest{g, t})
		}
	}
	return out
}

// GroupTest is a test and its group.
type GroupTest struct {
	Group *Group
	Test  *Test
}

// Validate checks a manifest document against schema, a JSON Schema using the subset this
// package writes: type, properties, required, additionalProperties (false or a schema),
// items, enum, const, pattern, minimum, minItems, minLength, $defs and local $ref. It
// returns every violation, each naming the JSON path.
func Validate(schema, doc []byte) error {
	var s, d any
	if err := json.Unmarshal(schema, &s); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return fmt.Errorf("document: %w", err)
	}
	root, ok := s.(map[string]any)
	if !ok {
		return fmt.Errorf("schema: not an object")
	}
	v := &validator{root: root}
	v.check(root, d, "$")
	if len(v.errs) > 0 {
		return fmt.Errorf("manifest does not match its schema: %s", strings.Join(v.errs, "; "))
	}
	return nil
}

type validator struct {
	root map[string]any
	errs []string
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

func (v *validator) check(s map[string]any, d any, path string) {
	if ref, ok := s["$ref"].(string); ok {
		const pfx = "#/$defs/"
		defs, _ := v.root["$defs"].(map[string]any)
		t, _ := defs[strings.TrimPrefix(ref, pfx)].(map[string]any)
		if !strings.HasPrefix(ref, pfx) || t == nil {
			v.fail(path, "unresolvable $ref %q", ref)
			return
		}
		v.check(t, d, path)
	}
	for k := range s {
		switch k {
		case "$schema", "$id", "$ref", "$defs", "title", "description", "type", "properties", "required",
			"additionalProperties", "items", "enum", "const", "pattern", "minimum", "minItems", "minLength", "uniqueItems":
		default:
			v.fail(path, "schema keyword %q not supported by this validator", k)
		}
	}
	if t, ok := s["type"].(string); ok && !hasType(d, t) {
		v.fail(path, "want %s, have %s", t, typeName(d))
		return
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			if jsonEqual(x, d) {
				found = true
			}
		}
		if !found {
			v.fail(path, "%v is not one of %v", d, e)
		}
	}
	if c, ok := s["const"]; ok && !jsonEqual(c, d) {
		v.fail(path, "%v is not %v", d, c)
	}
	switch x := d.(type) {
	case string:
		if p, ok := s["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				v.fail(path, "bad pattern %q: %v", p, err)
			} else if !re.MatchString(x) {
				v.fail(path, "%q does not match %q", x, p)
			}
		}
		if n, ok := s["minLength"].(float64); ok && float64(len([]rune(x))) < n {
			v.fail(path, "shorter than %v", n)
		}
	case float64:
		if n, ok := s["minimum"].(float64); ok && x < n {
			v.fail(path, "%v is below the minimum %v", x, n)
		}
	case []any:
		if n, ok := s["minItems"].(float64); ok && float64(len(x)) < n {
			v.fail(path, "%d items, want at least %v", len(x), n)
		}
		if u, ok := s["uniqueItems"].(bool); ok && u {
			for i := range x {
				for j := i + 1; j < len(x); j++ {
					if jsonEqual(x[i], x[j]) {
						v.fail(path, "items %d and %d are equal", i, j)
					}
				}
			}
		}
		if it, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				v.check(it, e, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if name, _ := r.(string); name != "" {
					if _, ok := x[name]; !ok {
						v.fail(path, "missing required property %q", name)
					}
				}
			}
		}
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if ps, ok := props[k].(map[string]any); ok {
				v.check(ps, x[k], path+"."+k)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					v.fail(path, "property %q is not allowed", k)
				}
			case map[string]any:
				v.check(ap, x[k], path+"."+k)
			}
		}
	}
}

func hasType(d any, t string) bool {
	switch t {
	case "object":
		_, ok := d.(map[string]any)
		return ok
	case "array":
		_, ok := d.([]any)
		return ok
	case "string":
		_, ok := d.(string)
		return ok
	case "integer":
		f, ok := d.(float64)
		return ok && f == float64(int64(f))
	case "number":
		_, ok := d.(float64)
		return ok
	case "boolean":
		_, ok := d.(bool)
		return ok
	case "null":
		return d == nil
	}
	return false
}

func typeName(d any) string {
	switch d.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", d)
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
