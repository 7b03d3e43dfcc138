package conv

import "testing"

func TestBufClass(t *testing.T) {
	prev := 0
	for n := 1; n <= 64<<20; n += 1 + n/97 {
		c, size := bufClass(n)
		if size < n {
			t.Fatalf("bufClass(%d) = %d, %d: too small", n, c, size)
		}
		if n > 1<<minBufShift && size > n+n/4 {
			t.Fatalf("bufClass(%d) = %d, %d: wastes more than a quarter", n, c, size)
		}
		if c < prev {
			t.Fatalf("bufClass(%d) = %d: classes not increasing", n, c)
		}
		prev = c
		// a buffer of exactly a class's size maps back to that class (putBuf relies on it)
		if c2, size2 := bufClass(size); c2 != c || size2 != size {
			t.Fatalf("bufClass(%d) = %d, %d but bufClass(%d) = %d, %d", n, c, size, size, c2, size2)
		}
	}
}

func TestBufPoolReuse(t *testing.T) {
	b := getBuf(100000, signatureRoom)
	if len(b) != 100000 || cap(b) < 100000+signatureRoom {
		t.Fatalf("getBuf: len %d cap %d", len(b), cap(b))
	}
	// The free lists keep what is put back (sync.Pool may drop it at any time): start them
	// empty, so that this test sees its own buffers, and give them back as they were.
	freeBufs.mu.Lock()
	saved, savedBytes := freeBufs.class, freeBufs.bytes
	freeBufs.class, freeBufs.bytes = [bufClassCount][][]byte{}, 0
	freeBufs.mu.Unlock()
	defer func() {
		freeBufs.mu.Lock()
		freeBufs.class, freeBufs.bytes = saved, savedBytes
		freeBufs.mu.Unlock()
	}()
	putBuf(b)
	if c := getBuf(99000, signatureRoom); &c[0] != &b[0] {
		t.Fatal("a buffer of the same class was not reused")
	}
	if c := getBuf(99000, signatureRoom); &c[0] == &b[0] {
		t.Fatal("a buffer was handed out twice")
	}
	for i := 0; i < 10; i++ {
		c := getBuf(99000, signatureRoom)
		if len(c) != 99000 || cap(c) < 99000+signatureRoom {
			t.Fatalf("getBuf: len %d cap %d", len(c), cap(c))
		}
		putBuf(c)
	}
	putBuf(make([]byte, 12345)) // not a class size: ignored, not pooled
	if d := getBuf(12000, 0); cap(d) == 12345 {
		t.Fatal("a buffer of a non-class capacity was pooled")
	}
}
