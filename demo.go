package kmodsig

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kmodsig/kmodsig/conv"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// DemoResult is what Demo did: the signed module per format and the conversion matrix.
type DemoResult struct {
	Dir     string
	Formats []string
	Signed  map[string]string // format -> file
	// Matrix[from][to] is "ok" or the error.
	Matrix map[string]map[string]string
	Failed int
}

// Demo runs the main job on the embedded sample module and demo keys, inside dir: sign the
// module in every format that can be written, verify each, convert every signed module into
// every other format (strip, re-sign, verify), and print the matrix to w. It touches nothing
// outside dir.
func Demo(w io.Writer, dir string) (*DemoResult, error) {
	rsaKey, err := keys.Parse(DemoKey)
	if err != nil {
		return nil, fmt.Errorf("demo key: %w", err)
	}
	dsaKey, err := keys.Parse(DemoDSAKey)
	if err != nil {
		return nil, fmt.Errorf("demo DSA key: %w", err)
	}
	res := &DemoResult{Dir: dir, Signed: map[string]string{}, Matrix: map[string]map[string]string{}}
	unsigned := filepath.Join(dir, "hello.ko")
	if err := os.WriteFile(unsigned, SampleModule, 0o644); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "kmodsig demo in %s\n\nsigning %s (%d bytes) in every format:\n", dir, "hello.ko", len(SampleModule))
	keyFor := map[string]*keys.Material{}
	for _, d := range formats.All() {
		id := d.ID()
		var signed *conv.SignResult
		var k *keys.Material
		for _, cand := range []*keys.Material{rsaKey, dsaKey} {
			signed, err = conv.Sign(unsigned, SampleModule, id, cand, formats.SignOptions{})
			if err == nil {
				k = cand
				break
			}
			if !errors.Is(err, formats.ErrKeyType) {
				break
			}
		}
		if errors.Is(err, formats.ErrReadOnly) {
			fmt.Fprintf(w, "  %-12s read only (kmodsig reads it, never writes it)\n", id)
			continue
		}
		if err != nil {
			fmt.Fprintf(w, "  %-12s not written: %v\n", id, err)
			res.Failed++
			continue
		}
		keyFor[id] = k
		out := filepath.Join(dir, id+".ko")
		if err := os.WriteFile(out, signed.Signed, 0o644); err != nil {
			return nil, err
		}
		res.Formats = append(res.Formats, id)
		res.Signed[id] = out
		v := signed.Verdict
		fmt.Fprintf(w, "  %-12s %-8s %s (permissive %s, enforcing %s), %d bytes\n", id, keyName(k), v.Outcome, v.Permissive, v.Enforcing, len(signed.Signed))
	}

	fmt.Fprintf(w, "\nconverting every signed module into every other format (rows: from, columns: to):\n\n%-12s", "")
	for _, to := range res.Formats {
		fmt.Fprintf(w, " %-10s", to)
	}
	fmt.Fprintln(w)
	for _, from := range res.Formats {
		data, err := os.ReadFile(res.Signed[from])
		if err != nil {
			return nil, err
		}
		res.Matrix[from] = map[string]string{}
		fmt.Fprintf(w, "%-12s", from)
		for _, to := range res.Formats {
			cell := "-"
			if from != to {
				r, err := conv.Sign(res.Signed[from], data, to, keyFor[to], formats.SignOptions{})
				if err != nil {
					cell = "FAIL"
					res.Matrix[from][to] = err.Error()
					res.Failed++
				} else {
					cell = "ok"
					res.Matrix[from][to] = "ok"
					out := filepath.Join(dir, "converted", from+"-to-"+to+".ko")
					if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
						return nil, err
					}
					if err := os.WriteFile(out, r.Signed, 0o644); err != nil {
						return nil, err
					}
				}
			}
			fmt.Fprintf(w, " %-10s", cell)
		}
		fmt.Fprintln(w)
	}
	for _, from := range res.Formats {
		for _, to := range res.Formats {
			if msg := res.Matrix[from][to]; msg != "" && msg != "ok" {
				fmt.Fprintf(w, "\n%s -> %s: %s", from, to, msg)
			}
		}
	}
	fmt.Fprintf(w, "\nfiles: %s/<format>.ko and %s/converted/<from>-to-<to>.ko\n", dir, dir)
	fmt.Fprintf(w, "every result was verified by kmodsig before it was written; %d of %d conversions ok\n",
		len(res.Formats)*(len(res.Formats)-1)-res.Failed, len(res.Formats)*(len(res.Formats)-1))
	return res, nil
}

func keyName(k *keys.Material) string {
	if k.DSA != nil {
		return "DSA-1024"
	}
	return "RSA-2048"
}
