package record

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/vtab"
)

// TestRecordBesideReaders: opening a history file and storing a snapshot
// while other connections read it (as `netsql --db FILE` does beside a
// cron `netsql record`; a reader that closes last checkpoints the WAL into
// the file under an exclusive lock) wait for the locks they hold instead
// of failing with "database is locked".
func TestRecordBesideReaders(t *testing.T) {
	eng, err := vtab.Open(vtab.Options{ProcRoot: "../../vtab/testdata/fixture/proc"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	q, _ := queries.Parse("one.sql", "SELECT 1 AS one;")
	file := filepath.Join(t.TempDir(), "h.db")
	ctx := context.Background()
	r, err := Open(ctx, file, eng, []queries.Query{q}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	var ms int
	if err := r.db.QueryRow("PRAGMA busy_timeout").Scan(&ms); err != nil || ms != 10000 {
		t.Errorf("busy_timeout = %d ms, %v; want 10000", ms, err)
	}
	r.Close()

	// Readers open, read and close the file over and over.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				db, err := sql.Open("sqlite", file)
				if err != nil {
					continue
				}
				var n int
				db.QueryRow("SELECT count(*) FROM " + SnapshotsTable).Scan(&n)
				db.Close()
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		r, err := Open(ctx, file, eng, []queries.Query{q}, nil)
		if err == nil {
			_, err = r.Snapshot(ctx)
			r.Close()
		}
		if err != nil {
			t.Fatalf("beside readers: %v", err)
		}
	}
}

// TestAttachBesideRecord: `netsql --db FILE` opened while `netsql record`
// writes the same file (each record run checkpoints the WAL into the file
// as it closes, under an exclusive lock) waits for the lock instead of
// failing with "database is locked".
func TestAttachBesideRecord(t *testing.T) {
	opts := vtab.Options{ProcRoot: "../../vtab/testdata/fixture/proc"}
	eng, err := vtab.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	q, _ := queries.Parse("one.sql", "SELECT 1 AS one;")
	file := filepath.Join(t.TempDir(), "h.db")
	ctx := context.Background()
	record := func() error {
		r, err := Open(ctx, file, eng, []queries.Query{q}, nil)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = r.Snapshot(ctx)
		return err
	}
	if err := record(); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := record(); err != nil {
				errc <- err
				return
			}
		}
	}()
	defer func() { close(stop); <-errc }()
	reads := 0
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); reads++ {
		reader, err := vtab.Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err = Attach(ctx, reader, file); err == nil {
			err = reader.DB().QueryRowContext(ctx, "SELECT count(*) FROM history.one").Scan(&n)
		}
		reader.Close()
		if err != nil {
			t.Fatalf("read %d beside record: %v", reads, err)
		}
		if n == 0 {
			t.Fatalf("read %d: history.one is empty after a snapshot", reads)
		}
	}
}
