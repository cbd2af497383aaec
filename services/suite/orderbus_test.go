package suite_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestOrderBus_ENT3: orders published on NATS are ingested like REST ones, answered
// on the accepted or rejected subject by batch ID, and a batch sent twice creates its
// lines once.
func TestOrderBus_ENT3(t *testing.T) {
	env := suitetest.Start(t)
	seed := env.SeedLineItem(t, "bus-co", 1)
	api := rest{t: t, base: env.Suite.GatewayURL}
	admin := api.as(login(api, "bus-co", "admin", "Admin-Password-1"))
	nc, err := nats.Connect(env.Config.NATSURL)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	accepted := make(chan *nats.Msg, 10)
	rejected := make(chan *nats.Msg, 10)
	_, err = nc.ChanSubscribe("tessera.orders.accepted.*", accepted)
	require.NoError(t, err)
	_, err = nc.ChanSubscribe("tessera.orders.rejected.*", rejected)
	require.NoError(t, err)

	product := admin.ok("GET", "/v1/products/"+seed.ProductID, nil)
	batch := &entitlementpb.BatchCreateOrdersRequest{Orders: []*entitlementpb.CreateOrderRequest{{
		OrderId: "BUS-1", SoldTo: "accounts/" + seed.AccountID, Lines: []*entitlementpb.OrderLine{
			{LineNumber: "1", Product: "products/" + seed.ProductID, LicenseModel: product["license_models"].([]any)[0].(string), Quantity: 4},
		},
	}}}
	body, err := proto.Marshal(batch)
	require.NoError(t, err)
	send := func(subject, id string, data []byte, json bool) {
		m := nats.NewMsg(subject)
		m.Data = data
		m.Header.Set(nats.MsgIdHdr, id)
		if json {
			m.Header.Set("Content-Type", "application/json")
		}
		require.NoError(t, nc.PublishMsg(m))
	}
	answer := func(ch chan *nats.Msg, into proto.Message) string {
		select {
		case m := <-ch:
			require.NoError(t, proto.Unmarshal(m.Data, into))
			return m.Subject
		case <-time.After(10 * time.Second):
			t.Fatal("no answer on the order bus")
			return ""
		}
	}

	send("tessera.orders.in.bus-co", "batch-1", body, false)
	var ok1 eventspb.OrdersAccepted
	require.Equal(t, "tessera.orders.accepted.bus-co", answer(accepted, &ok1))
	require.Equal(t, "batch-1", ok1.GetBatchId())
	require.Equal(t, []string{"BUS-1"}, ok1.GetOrderIds())
	ent := admin.ok("GET", "/v1/entitlements/"+ok1.GetEntitlementIds()[0], nil)
	require.Len(t, ent["line_items"], 1)

	send("tessera.orders.in.bus-co", "batch-1-again", body, false)
	var ok2 eventspb.OrdersAccepted
	answer(accepted, &ok2)
	require.Equal(t, ok1.GetEntitlementIds(), ok2.GetEntitlementIds(), "the same batch again changes nothing")
	require.Len(t, admin.ok("GET", "/v1/entitlements/"+ok1.GetEntitlementIds()[0], nil)["line_items"], 1)

	send("tessera.orders.in.bus-co", "bad-1", []byte(`{"orders":[{"order_id":"BUS-2"}]}`), true)
	var no eventspb.OrdersRejected
	require.Equal(t, "tessera.orders.rejected.bus-co", answer(rejected, &no))
	require.Equal(t, "bad-1", no.GetBatchId())
	require.Equal(t, "INVALID_ARGUMENT", no.GetCode())
	require.Contains(t, no.GetFieldViolations(), "orders[0].lines")
	admin.refused(http.StatusNotFound, "GET", "/v1/entitlements/BUS-2", nil)

	send("tessera.orders.in.nobody", "ghost-1", body, false)
	var ghost eventspb.OrdersRejected
	require.Equal(t, "tessera.orders.rejected.nobody", answer(rejected, &ghost))
	require.Equal(t, "NOT_FOUND", ghost.GetCode())
	send("tessera.orders.in.bus-co", "garbage-1", []byte("\xff\xfe not protobuf"), false)
	var garbage eventspb.OrdersRejected
	answer(rejected, &garbage)
	require.Equal(t, "garbage-1", garbage.GetBatchId())
	require.Contains(t, garbage.GetFieldViolations(), "body")
}
