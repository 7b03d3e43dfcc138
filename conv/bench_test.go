package conv

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// benchModules are the inputs of the benchmarks: the real test module, and a 4 MiB module
// (hello.ko followed by pseudo-random nibbles, which compress about 2:1 like real code: the
// appended formats do not care, and it makes copies of the module visible in B/op), plain
// and zstd-compressed.
func benchModules(b *testing.B) []struct {
	name string
	data []byte
	c    Compression
} {
	hello := helloKO(b)
	big := make([]byte, 4<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.IntN(16))
	}
	copy(big, hello)
	return []struct {
		name string
		data []byte
		c    Compression
	}{
		{"hello.ko", hello, None},
		{"4MiB.ko", big, None},
		{"4MiB.ko.zst", big, Zstd},
	}
}

// BenchmarkConvert converts one module (signed in pkcs7 with another key) to pkcs7 with
// RSA-2048 through Convert, write included. The module-copies/op metric is the bytes
// allocated per conversion divided by the module size: how many copies of the module one
// conversion holds (for the .zst case, compressed copies count by their smaller size).
func BenchmarkConvert(b *testing.B) {
	k := loadKey(b, "rsa2048.pem")
	old := loadKey(b, "untrusted-rsa2048.pem")
	for _, bm := range benchModules(b) {
		b.Run(bm.name, func(b *testing.B) {
			dir := b.TempDir()
			res, err := Sign("m", bm.data, "pkcs7", old, formats.SignOptions{})
			if err != nil {
				b.Fatal(err)
			}
			in, err := Compress(res.Signed, bm.c)
			if err != nil {
				b.Fatal(err)
			}
			p := filepath.Join(dir, "in", "m.ko"+bm.c.Ext())
			writeFile(b, p, in)
			inputs := []Input{{Path: p, Root: filepath.Dir(p), Rel: filepath.Base(p)}}
			o := Options{To: "pkcs7", Key: k, OutDir: filepath.Join(dir, "out"), Jobs: 1}
			if rep := Convert(context.Background(), inputs, o); rep.Err() != nil {
				b.Fatal(rep.Files[0].Error)
			}
			b.SetBytes(int64(len(bm.data)))
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if rep := Convert(context.Background(), inputs, o); rep.Err() != nil {
					b.Fatal(rep.Files[0].Error)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(len(bm.data)), "module-copies/op")
		})
	}
}

// BenchmarkInspect opens one module file and lists its signatures (what `kmodsig inspect`
// does per module): a pkcs7 module (trailer read from the tail), the same module 4 MiB
// large, and an rhel6 module (section format: the ELF image is read).
func BenchmarkInspect(b *testing.B) {
	rsa := loadKey(b, "rsa2048.pem")
	dsa := loadKey(b, "dsa1024.key")
	mods := benchModules(b)
	cases := []struct {
		name   string
		data   []byte
		format string
		key    any
		c      Compression
	}{
		{"pkcs7/hello.ko", mods[0].data, "pkcs7", rsa, None},
		{"pkcs7/4MiB.ko", mods[1].data, "pkcs7", rsa, None},
		{"pkcs7/4MiB.ko.zst", mods[1].data, "pkcs7", rsa, Zstd},
		{"rhel6/hello.ko", mods[0].data, "rhel6", dsa, None},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			k := rsa
			if tc.format == "rhel6" {
				k = dsa
			}
			res, err := Sign("m", tc.data, tc.format, k, formats.SignOptions{})
			if err != nil {
				b.Fatal(err)
			}
			data, err := Compress(res.Signed, tc.c)
			if err != nil {
				b.Fatal(err)
			}
			p := filepath.Join(b.TempDir(), "m.ko"+tc.c.Ext())
			writeFile(b, p, data)
			b.SetBytes(int64(len(res.Signed)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, err := Open(p)
				if err != nil {
					b.Fatal(err)
				}
				ls := Layers(f.Module)
				if len(ls) != 1 || ls[0].Err != nil || ls[0].Driver.ID() != tc.format {
					b.Fatalf("layers %+v", ls)
				}
				f.Close()
			}
		})
	}
}
