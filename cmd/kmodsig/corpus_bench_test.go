package main

import (
	"io"
	"os"
	"testing"

	"github.com/kmodsig/kmodsig/internal/corpus"
)

// BenchmarkInspectCorpus and BenchmarkVerifyCorpus run `kmodsig inspect --json` and
// `kmodsig verify` over the Debian module set (KMODSIG_CORPUS=1; bench/run.sh compares the
// same jobs with modinfo and sha256sum).
func BenchmarkInspectCorpus(b *testing.B) {
	c := corpusForBench(b)
	for b.Loop() {
		if rc := run([]string{"inspect", "--json", c.Modules}, io.Discard, io.Discard); rc != 0 {
			b.Fatalf("exit %d", rc)
		}
	}
}

func BenchmarkVerifyCorpus(b *testing.B) {
	c := corpusForBench(b)
	for b.Loop() {
		if rc := run([]string{"verify", "--keyring", c.Cert, c.Modules}, io.Discard, io.Discard); rc != 0 {
			b.Fatalf("exit %d", rc)
		}
	}
}

func corpusForBench(b *testing.B) *corpus.Corpus {
	if os.Getenv("KMODSIG_CORPUS") != "1" {
		b.Skip("set KMODSIG_CORPUS=1 to benchmark over the Debian module set")
	}
	c, err := corpus.Fetch()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	return c
}
