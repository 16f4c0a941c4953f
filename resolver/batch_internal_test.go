package resolver

import (
	"fmt"
	"testing"
	"time"
)

// TestBatchBounds: the batch cache drops entries past its bounds of
// entries and of bytes, expired ones first.
func TestBatchBounds(t *testing.T) {
	b := NewBatch(0)
	now := time.Now()
	add := func(i, size int, expires time.Time) {
		b.entries[ledgerKey{"", key{fmt.Sprintf("n%d.", i), 1}}] = &sharedEntry{ready: true, expires: expires, size: size}
		b.bytes += size
	}
	for i := range 40 {
		add(i, 1<<20, now.Add(time.Hour)) // 40 MiB of big TXT answers
	}
	b.makeRoom(now)
	if b.bytes > maxSharedBytes*9/10 || len(b.entries) == 0 {
		t.Errorf("after makeRoom: %d entries, %d bytes; want under %d bytes", len(b.entries), b.bytes, maxSharedBytes*9/10)
	}
	b = NewBatch(0)
	for i := range maxSharedEntries {
		expires := now.Add(time.Hour)
		if i%2 == 0 {
			expires = now.Add(-time.Second)
		}
		add(i, 100, expires)
	}
	b.makeRoom(now)
	if len(b.entries) != maxSharedEntries/2 {
		t.Errorf("after makeRoom: %d entries, want the %d unexpired", len(b.entries), maxSharedEntries/2)
	}
}
