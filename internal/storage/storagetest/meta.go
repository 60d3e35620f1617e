package storagetest

import (
	"errors"
	"slices"
	"testing"

	"kinesisd/internal/storage"
)

// testMetaCAS walks one key through create, conflicting writes, update, delete and re-create; every
// refused write must leave the document as it was.
func testMetaCAS(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const key = "stream/orders"
	var cur uint64        // the version the key has now (0: absent)
	var curValue []byte   // its value
	var versions []uint64 // every version handed out, to check they increase

	expect := func(step string) {
		t.Helper()
		v, ver, err := s.GetMeta(ctx, key)
		if cur == 0 {
			if !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("%s: GetMeta = %q, %d, %v; want ErrNotFound", step, v, ver, err)
			}
			return
		}
		if err != nil || ver != cur || string(v) != string(curValue) {
			t.Fatalf("%s: GetMeta = %q, %d, %v; want %q, %d", step, v, ver, err, curValue, cur)
		}
	}

	type step struct {
		name    string
		op      string // put, delete
		value   string
		version func() uint64
		wantErr error
	}
	current := func() uint64 { return cur }
	stale := func() uint64 { return versions[0] }
	wrong := func() uint64 { return cur + 1000 }
	zero := func() uint64 { return 0 }
	steps := []step{
		{"get absent", "", "", nil, nil},
		{"delete absent", "delete", "", zero, storage.ErrNotFound},
		{"delete absent with a version", "delete", "", wrong, storage.ErrNotFound},
		{"update absent", "put", "x", wrong, storage.ErrConflict},
		{"create", "put", "v1", zero, nil},
		{"create again", "put", "v1bis", zero, storage.ErrConflict},
		{"update with wrong version", "put", "bad", wrong, storage.ErrConflict},
		{"update", "put", "v2", current, nil},
		{"update with stale version", "put", "bad", stale, storage.ErrConflict},
		{"delete with stale version", "delete", "", stale, storage.ErrConflict},
		{"delete with version 0", "delete", "", zero, storage.ErrConflict},
		{"update again", "put", "", current, nil}, // an empty document is a document
		{"delete", "delete", "", current, nil},
		{"update deleted", "put", "bad", stale, storage.ErrConflict},
		{"re-create", "put", "v3", zero, nil},
	}
	for _, st := range steps {
		switch st.op {
		case "put":
			nv, err := s.PutMeta(ctx, key, []byte(st.value), st.version())
			if !errors.Is(err, st.wantErr) || (st.wantErr == nil) != (err == nil) {
				t.Fatalf("%s: PutMeta error %v, want %v", st.name, err, st.wantErr)
			}
			if err == nil {
				if nv == 0 || (len(versions) > 0 && nv == versions[len(versions)-1]) || nv == cur {
					t.Fatalf("%s: PutMeta version %d after %v", st.name, nv, versions)
				}
				cur, curValue = nv, []byte(st.value)
				versions = append(versions, nv)
			}
		case "delete":
			err := s.DeleteMeta(ctx, key, st.version())
			if !errors.Is(err, st.wantErr) || (st.wantErr == nil) != (err == nil) {
				t.Fatalf("%s: DeleteMeta error %v, want %v", st.name, err, st.wantErr)
			}
			if err == nil {
				cur, curValue = 0, nil
			}
		}
		expect(st.name)
	}
	// Another key is independent of this one.
	if _, _, err := s.GetMeta(ctx, key+"x"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetMeta(other key) error %v, want ErrNotFound", err)
	}
}

// testMetaCopies: the store neither keeps the caller's slice nor hands out its own.
func testMetaCopies(t *testing.T, s storage.Store) {
	ctx := t.Context()
	in := []byte("original")
	ver, err := s.PutMeta(ctx, "k", in, 0)
	if err != nil {
		t.Fatal(err)
	}
	copy(in, "XXXXXXXX")
	got, _, err := s.GetMeta(ctx, "k")
	if err != nil || string(got) != "original" {
		t.Fatalf("GetMeta after changing the input = %q, %v; want original", got, err)
	}
	copy(got, "YYYYYYYY")
	list, err := s.ListMeta(ctx, "")
	if err != nil || len(list) != 1 || string(list[0].Value) != "original" || list[0].Version != ver {
		t.Fatalf("ListMeta after changing GetMeta's result = %+v, %v", list, err)
	}
	copy(list[0].Value, "ZZZZZZZZ")
	if got, _, _ := s.GetMeta(ctx, "k"); string(got) != "original" {
		t.Fatalf("GetMeta after changing ListMeta's result = %q", got)
	}
}

// testListMeta: prefix selection and ascending key order, whatever the insertion order.
func testListMeta(t *testing.T, s storage.Store) {
	ctx := t.Context()
	// Plain ASCII keys (what the service uses, and what every engine can hold), ordered bytewise:
	// 'Z' < 'a' and '-' < '/' < '0'.
	keys := []string{"stream/b", "account/settings", "stream/a/consumer/1", "streamz", "stream/a",
		"stream/Z", "s", "stream0", "stream/a-b"}
	versions := map[string]uint64{}
	for _, k := range keys {
		v, err := s.PutMeta(ctx, k, []byte("doc:"+k), 0)
		if err != nil {
			t.Fatalf("PutMeta(%q): %v", k, err)
		}
		versions[k] = v
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"account/settings", "s", "stream/Z", "stream/a", "stream/a-b", "stream/a/consumer/1",
			"stream/b", "stream0", "streamz"}},
		{"stream/", []string{"stream/Z", "stream/a", "stream/a-b", "stream/a/consumer/1", "stream/b"}},
		{"stream", []string{"stream/Z", "stream/a", "stream/a-b", "stream/a/consumer/1", "stream/b", "stream0", "streamz"}},
		{"stream/a", []string{"stream/a", "stream/a-b", "stream/a/consumer/1"}},
		{"stream/a/", []string{"stream/a/consumer/1"}},
		{"stream/a/consumer/1", []string{"stream/a/consumer/1"}},
		{"nothing", nil},
		{"streamzz", nil},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			got, err := s.ListMeta(ctx, tt.prefix)
			if err != nil {
				t.Fatal(err)
			}
			var gotKeys []string
			for _, e := range got {
				gotKeys = append(gotKeys, e.Key)
				if string(e.Value) != "doc:"+e.Key || e.Version != versions[e.Key] {
					t.Errorf("entry %q = %q version %d, want %q version %d", e.Key, e.Value, e.Version,
						"doc:"+e.Key, versions[e.Key])
				}
			}
			if !slices.Equal(gotKeys, tt.want) {
				t.Errorf("ListMeta(%q) keys = %q, want %q", tt.prefix, gotKeys, tt.want)
			}
		})
	}
}
