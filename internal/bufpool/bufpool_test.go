package bufpool

import "testing"

func TestGetCapacity(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		wantCap int
	}{
		{"zero", 0, 0},
		{"small, not pooled", 100, 100},
		{"class edge, not pooled", 4096, 4096},
		{"just above the first class", 4097, 5120},
		{"second step", 5121, 6144},
		{"last step", 7169, 8192},
		{"PutRecords body", 700_000, 768 << 10},
		{"exact class", 1 << 20, 1 << 20},
		{"1 MiB records, 4 per request", 5_600_000, 6 << 20},
		{"largest class", 1 << 26, 1 << 26},
		{"over the largest class", 1<<26 + 1, 1<<26 + 1},
	}
	var p Pool
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := p.Get(tt.n)
			if len(b) != 0 || cap(b) != tt.wantCap {
				t.Errorf("Get(%d): len %d cap %d, want len 0 cap %d", tt.n, len(b), cap(b), tt.wantCap)
			}
			p.Put(b)
		})
	}
}

func TestReuse(t *testing.T) {
	var p Pool
	b := p.Get(100_000)
	b = append(b, "hello"...)
	p.Put(b)
	// sync.Pool may drop what it holds at any time (and does, randomly, under -race): only check that
	// what comes back is a usable buffer of the class, empty.
	for range 10 {
		c := p.Get(100_000)
		if len(c) != 0 || cap(c) != 112<<10 {
			t.Fatalf("Get after Put: len %d cap %d", len(c), cap(c))
		}
		p.Put(c)
	}
	p.Put(make([]byte, 0, 100_000)) // not a class size: dropped, not handed out as a class buffer
	if c := p.Get(100_000); cap(c) != 112<<10 {
		t.Fatalf("Get: cap %d, want %d", cap(c), 112<<10)
	}
}

func TestClassesCoverEveryPooledSize(t *testing.T) {
	prev := -1
	for n := 1<<minShift + 1; n <= 1<<maxShift; n += 997 { // walk the range in odd steps
		c, size := class(n)
		if c < prev || c >= len(Pool{}.classes) || size < n || size > n+n/4+1 {
			t.Fatalf("class(%d) = %d, %d (previous class %d)", n, c, size, prev)
		}
		if c2, size2 := class(size); c2 != c || size2 != size {
			t.Fatalf("class(%d) = %d, %d; a class size must map to itself, got %d, %d", n, c, size, c2, size2)
		}
		prev = c
	}
}

func BenchmarkGetPut(b *testing.B) {
	var p Pool
	b.ReportAllocs()
	for b.Loop() {
		p.Put(p.Get(700_000))
	}
}
