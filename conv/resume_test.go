package conv

import (
	"context"
	"crypto"
	"path/filepath"
	"testing"
	"time"

	"github.com/kmodsig/kmodsig/formats"
)

// TestResumeConvertsWhatChanged: --resume skips an output that is what the run would write,
// and converts again one whose input changed since, and every one when the run signs
// otherwise (another hash, variant, signer identification or time) than the outputs were.
// It skipped all of these while the output was merely in the format and verified.
func TestResumeConvertsWhatChanged(t *testing.T) {
	k := loadKey(t, "rsa2048.pem")
	dir := t.TempDir()
	hello := helloKO(t)
	hello2 := readFile(t, filepath.Join(testdata, "modules", "hello2.ko"))
	var inputs []Input
	for _, name := range []string{"a.ko", "b.ko"} {
		p := filepath.Join(dir, "in", name)
		writeFile(t, p, hello)
		inputs = append(inputs, Input{Path: p, Root: filepath.Join(dir, "in"), Rel: name})
	}
	run := func(to string, so formats.SignOptions) *Report {
		t.Helper()
		rep := Convert(context.Background(), inputs, Options{To: to, Key: k, Sign: so, OutDir: filepath.Join(dir, "out-"+to), Jobs: 2, Resume: true})
		if err := rep.Err(); err != nil {
			t.Fatalf("%s %+v: %v", to, so, err)
		}
		return rep
	}
	counts := func(rep *Report) [2]int { return [2]int{rep.Converted, rep.Skipped} }
	t2019 := time.Date(2019, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, step := range []struct {
		name   string
		to     string
		so     formats.SignOptions
		change func()
		want   [2]int // converted, skipped
	}{
		{"first run", "pkcs7", formats.SignOptions{}, nil, [2]int{2, 0}},
		{"the same again", "pkcs7", formats.SignOptions{}, nil, [2]int{0, 2}},
		{"an input changed", "pkcs7", formats.SignOptions{}, func() { writeFile(t, inputs[1].Path, hello2) }, [2]int{1, 1}},
		{"another hash", "pkcs7", formats.SignOptions{Hash: crypto.SHA512}, nil, [2]int{2, 0}},
		{"signer by SKID", "pkcs7", formats.SignOptions{Hash: crypto.SHA512, KeyID: true}, nil, [2]int{2, 0}},
		{"unchanged again", "pkcs7", formats.SignOptions{Hash: crypto.SHA512, KeyID: true}, nil, [2]int{0, 2}},
		{"digsig v1", "digsig2012", formats.SignOptions{}, nil, [2]int{2, 0}},
		{"digsig v2", "digsig2012", formats.SignOptions{Variant: "v2"}, nil, [2]int{2, 0}},
		{"gpg2012", "gpg2012", formats.SignOptions{}, nil, [2]int{2, 0}},
		{"gpg2012 at another time", "gpg2012", formats.SignOptions{Time: t2019}, nil, [2]int{2, 0}},
		{"gpg2012 at that time again", "gpg2012", formats.SignOptions{Time: t2019}, nil, [2]int{0, 2}},
	} {
		if step.change != nil {
			step.change()
		}
		if got := counts(run(step.to, step.so)); got != step.want {
			t.Errorf("%s: converted, skipped = %v, want %v", step.name, got, step.want)
		}
	}
	// The outputs are what a fresh run writes.
	for _, in := range inputs {
		res, err := Sign(in.Path, readFile(t, in.Path), "gpg2012", k, formats.SignOptions{Time: t2019})
		if err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(dir, "out-gpg2012", in.Rel)); string(got) != string(res.Signed) {
			t.Errorf("%s: the resumed output is not a fresh signing's", in.Rel)
		}
	}
}
