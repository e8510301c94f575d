package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/netsql/netsql/queries"
)

// TestServerSurvivesIdleClients: clients that open connections and never
// finish a request do not keep a real scrape from being answered, and
// Run shuts down cleanly while they are still connected.
func TestServerSurvivesIdleClients(t *testing.T) {
	set, err := NewSet(engine(t), []queries.Query{query(t, "one", "-- metric: netsql_one\n-- type: gauge\n-- help: One.\n-- value: v\nSELECT 1 AS v")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addrc := make(chan net.Addr, 1)
	// Shutdown: how long the idle clients may hold Run up before it
	// closes them (5s by default).
	srv := &Server{Set: set, Addr: "127.0.0.1:0", Ready: func(a net.Addr) { addrc <- a }, Timeouts: Timeouts{Shutdown: 20 * time.Millisecond}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	// 200 loopback connections that send half a request line and stop.
	for i := 0; i < 200; i++ {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("GET /met")); err != nil {
			t.Fatal(err)
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr.String() + MetricsPath)
	if err != nil {
		t.Fatalf("scrape with 200 idle clients connected: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) == 0 {
		t.Fatalf("scrape: status %d, %d bytes", resp.StatusCode, len(body))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("shutdown with idle clients: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context ended while idle clients stayed connected")
	}
}
