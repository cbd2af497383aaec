package events_test

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/pgtest"
)

//go:embed testdata/*.sql
var testMigrations embed.FS

func sub(t testing.TB) fs.FS {
	s, err := fs.Sub(testMigrations, "testdata")
	require.NoError(t, err)
	return s
}

type rig struct {
	pool *pgxpool.Pool
	js   jetstream.JetStream
}

func setup(t testing.TB) rig {
	t.Helper()
	r := rig{pool: setupDB(t)}
	ns, err := events.StartEmbedded(filepath.Join(t.TempDir(), "nats"), 0)
	require.NoError(t, err)
	t.Cleanup(ns.Shutdown)
	r.js = connect(t, ns.ClientURL())
	return r
}

// connect dials NATS as the services do, with the event stream in place.
func connect(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, js, err := events.Connect(t.Context(), url, "test")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return js
}

// setupDB returns a pool on a fresh database with the events tables migrated.
func setupDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	sets := []pg.MigrationSet{events.Migrations(), {Name: "test", Files: sub(t)}}
	url := pgtest.NewDatabase(t, pgtest.Template{Name: pgtest.NameOf("events", sets...), Migrate: func(ctx context.Context, url string) error {
		pool, err := pg.Connect(ctx, url, "evt", 2)
		if err != nil {
			return err
		}
		defer pool.Close()
		return pg.Migrate(ctx, pool, "evt", sets...)
	}})
	pool, err := pg.Connect(t.Context(), url, "evt", 8)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func write(t *testing.T, r rig, n int) {
	t.Helper()
	for i := range n {
		require.NoError(t, pgx.BeginFunc(t.Context(), r.pool, func(tx pgx.Tx) error {
			_, err := events.Write(t.Context(), tx, events.Subject("test", "thing", "created"), "t1", &eventspb.AccountCreated{AccountId: string(rune('a' + i%26))})
			return err
		}))
	}
}

// An event is written in the change's transaction: a rolled-back change leaves no
// event behind.
func TestOutboxFollowsTheTransaction(t *testing.T) {
	r := setup(t)
	err := pgx.BeginFunc(t.Context(), r.pool, func(tx pgx.Tx) error {
		if _, err := events.Write(t.Context(), tx, "tessera.test.thing.created", "t1", &eventspb.AccountCreated{AccountId: "x"}); err != nil {
			return err
		}
		return context.Canceled // the change fails
	})
	require.ErrorIs(t, err, context.Canceled)
	var n int
	require.NoError(t, r.pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox`).Scan(&n))
	require.Zero(t, n)
}

// Every event reaches the stream once, even when the relay crashes after
// publishing and before marking rows published (it then publishes them again, and
// JetStream drops the duplicates by Nats-Msg-Id).
func TestRelayPublishesEachEventOnce(t *testing.T) {
	r := setup(t)
	write(t, r, 25)
	_, err := r.pool.Exec(t.Context(), `CREATE TABLE outbox_before AS SELECT * FROM outbox`)
	require.NoError(t, err)
	relay := events.NewRelay(r.pool, "evt", r.js, slog.Default())
	n, err := relay.PublishBatch(t.Context(), 100)
	require.NoError(t, err)
	require.Equal(t, 25, n)
	// Simulate the crash: the rows were published but not deleted; run again.
	_, err = r.pool.Exec(t.Context(), `INSERT INTO outbox SELECT * FROM outbox_before`)
	require.NoError(t, err)
	n, err = relay.PublishBatch(t.Context(), 100)
	require.NoError(t, err)
	require.Equal(t, 25, n)
	stream, err := r.js.Stream(t.Context(), events.StreamName)
	require.NoError(t, err)
	info, err := stream.Info(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 25, info.State.Msgs, "duplicates were dropped")
	n, err = relay.PublishBatch(t.Context(), 100)
	require.NoError(t, err)
	require.Zero(t, n)
}

// A consumer applies each event once, even when the same event is delivered again
// (here: published twice under different message IDs, as a replay would), and an
// event whose handler fails is redelivered until it succeeds.
func TestConsumerAppliesEachEventOnce(t *testing.T) {
	r := setup(t)
	write(t, r, 10)
	_, err := r.pool.Exec(t.Context(), `CREATE TABLE outbox_before AS SELECT * FROM outbox`)
	require.NoError(t, err)
	relay := events.NewRelay(r.pool, "evt", r.js, slog.Default())
	relay.PollInterval = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = relay.Run(ctx) }()

	var mu sync.Mutex
	failOnce := true
	applied := map[string]int{}
	done := make(chan error, 1)
	go func() {
		done <- events.Consume(ctx, r.js, r.pool, events.ConsumerConfig{
			Name: "test-consumer", Subjects: []string{"tessera.test.>"},
			Handler: func(ctx context.Context, tx pgx.Tx, ev events.Envelope) error {
				mu.Lock()
				defer mu.Unlock()
				if failOnce {
					failOnce = false
					return context.DeadlineExceeded // a transient failure: redelivered
				}
				var m eventspb.AccountCreated
				if err := proto.Unmarshal(ev.Payload, &m); err != nil || ev.TenantID != "t1" {
					t.Errorf("bad event %+v: %v", ev, err)
				}
				_, err := tx.Exec(ctx, `INSERT INTO applied (event_id) VALUES ($1)`, ev.ID)
				applied[ev.ID.String()]++
				return err
			},
		}, slog.Default())
	}()
	require.Eventually(t, func() bool {
		var n int
		_ = r.pool.QueryRow(t.Context(), `SELECT count(*) FROM applied`).Scan(&n)
		return n == 10
	}, 20*time.Second, 20*time.Millisecond)

	// Replay every stored event under new message IDs: the inbox skips them.
	rows, err := r.pool.Query(t.Context(), `SELECT id, subject, event_type, payload FROM outbox_before`)
	require.NoError(t, err)
	type ev struct {
		id           string
		subject, typ string
		payload      []byte
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ev, error) {
		var e ev
		return e, row.Scan(&e.id, &e.subject, &e.typ, &e.payload)
	})
	require.NoError(t, err)
	for _, e := range list {
		msg := natsMsg(e.subject, e.payload, e.id, e.typ)
		_, err := r.js.PublishMsg(t.Context(), msg)
		require.NoError(t, err)
	}
	time.Sleep(500 * time.Millisecond)
	var n int
	require.NoError(t, r.pool.QueryRow(t.Context(), `SELECT count(*) FROM applied`).Scan(&n))
	require.Equal(t, 10, n)
	mu.Lock()
	for id, count := range applied {
		require.Equal(t, 1, count, "event %s applied %d times", id, count)
	}
	mu.Unlock()
	cancel()
	require.NoError(t, <-done)
}

// The events of one transaction are written together: each keeps its own outbox
// row, its own audit record with the actor that caused it, and its place in the
// relay's order.
func TestOutboxWritesManyEventsTogether(t *testing.T) {
	r := setup(t)
	var o events.Outbox
	var ids []uuid.UUID
	for _, user := range []string{"ann", "bob", "cy"} {
		ctx := authz.WithPrincipal(t.Context(), &commonpb.Principal{TenantId: "t1", UserId: user, Impersonated: user == "bob", ImpersonatorId: map[bool]string{true: "sup"}[user == "bob"]})
		id, err := o.Add(ctx, events.Subject("test", "thing", "created"), "t1", &eventspb.AccountCreated{AccountId: "acc-" + user})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	b := &pgx.Batch{}
	o.Queue(b)
	require.NoError(t, r.pool.SendBatch(t.Context(), b).Close())

	rows, err := r.pool.Query(t.Context(), `SELECT id FROM outbox ORDER BY id`)
	require.NoError(t, err)
	inOrder, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	require.NoError(t, err)
	require.Equal(t, ids, inOrder)

	trail, _, err := events.ListAudit(t.Context(), r.pool, "t1", filter.Query{PageSize: 10})
	require.NoError(t, err)
	require.Len(t, trail, 3)
	for i, user := range []string{"ann", "bob", "cy"} {
		e := trail[i]
		require.Equal(t, ids[i].String(), e.ID)
		require.Equal(t, user, e.ActorUserID)
		require.Equal(t, user == "bob", e.Impersonated)
		require.JSONEq(t, `{"account_id":"acc-`+user+`"}`, e.PayloadJSON)
	}
}
