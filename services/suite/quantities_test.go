package suite_test

import (
	"math"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/platform/quantity"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestQuantitiesAreBounded_PLT7: every API that takes a quantity refuses one above
// quantity.Max (here the largest int64) as bad input naming the field — 400 over
// REST, InvalidArgument over gRPC, never a 500 or a conflict — and changes nothing;
// the bound itself is accepted where the line item allows it.
func TestQuantitiesAreBounded_PLT7(t *testing.T) {
	env := suitetest.Start(t)
	_, admin, ids := batchWorld(t, env)
	huge := strconv.FormatInt(math.MaxInt64, 10) // a string, as protojson reads int64
	li := ids["SO-B/1"]
	available := func() int64 { return num(admin.ok("GET", "/v1/lineItems/"+li, nil)["available"]) }
	admin.ok("POST", "/v1/devices", map[string]any{"device_id": "box", "device": map[string]any{"account": "accounts/ACME", "display_name": "Box", "type": "DEVICE_TYPE_STANDALONE"}})
	f := admin.ok("POST", "/v1/lineItems/"+li+":activate", map[string]any{"host_id": "HOSTNAME=a", "quantity": 1})
	before := available()

	hugeLine := line("1", "fcad", 0, "license_model", "licenseModels/float", "quantity", huge)
	counts := func(count, overdraft any) map[string]any {
		return map[string]any{
			"lines": []any{map[string]any{"line_item": "lineItems/" + li, "counts": []any{map[string]any{"host": 0, "count": count, "overdraft": overdraft}}}},
			"hosts": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=b"}}},
		}
	}
	for _, c := range []struct {
		name, path string
		body       map[string]any
		field      string
	}{
		{"order", "/v1/orders", map[string]any{"order_id": "SO-HUGE", "sold_to": "accounts/ACME", "lines": []any{hugeLine}}, "lines[0].quantity"},
		{"order batch", "/v1/orders:batchCreate", map[string]any{"orders": []any{map[string]any{"order_id": "SO-HUGE", "sold_to": "accounts/ACME", "lines": []any{hugeLine}}}}, "orders[0].lines[0].quantity"},
		{"amendment", "/v1/orders", map[string]any{"order_id": "SO-B", "sold_to": "accounts/ACME", "lines": []any{hugeLine}}, "lines[0].quantity"},
		{"activation", "/v1/lineItems/" + li + ":activate", map[string]any{"host_id": "HOSTNAME=b", "quantity": huge}, "quantity"},
		{"batch activation count", "/v1/fulfillments:activate", counts(huge, 0), "lines[0].counts[0].count"},
		{"batch activation overdraft", "/v1/fulfillments:activate", counts(1, huge), "lines[0].counts[0].overdraft"},
		{"count and overdraft together", "/v1/fulfillments:activate", counts(quantity.Max, quantity.Max), "lines[0].counts[0].count"},
		{"device mapping", "/v1/devices/box:mapLineItem", map[string]any{"line_item": "lineItems/" + li, "quantity": huge}, "quantity"},
		{"split", "/v1/lineItems/" + li + ":split", map[string]any{"to_account": "accounts/OTHER", "contact": "users/nobody", "quantity": huge}, "quantity"},
		{"batch rehost", "/v1/accounts/ACME/fulfillments:batchRehost", map[string]any{"products": []string{"products/fcad"}, "targets": map[string]any{"fcad": map[string]any{"servers": []any{
			map[string]any{"server_host_ids": []string{"HOSTNAME=a"}, "count": huge},
		}}}}, "targets[fcad].servers[0]"},
	} {
		e := admin.refused(http.StatusBadRequest, "POST", c.path, c.body)
		require.Equal(t, []string{c.field}, fieldViolations(e), c.name)
	}

	// The seat protocol's own calls, made by services.
	c := dialAll(t, env)
	svc := env.As(t, suitetest.Service("order-co"))
	invalid := func(name string, err error, field string) {
		t.Helper()
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%s: %v", name, err)
		var fields []string
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					fields = append(fields, v.GetField())
				}
			}
		}
		require.Equal(t, []string{field}, fields, name)
	}
	reserve := &entitlementpb.ReserveSeatsRequest{ReservationId: uuid.NewString(), ActivationId: li, Quantity: math.MaxInt64, Holder: "test"}
	_, err := c.ent.ReserveSeats(svc, reserve)
	invalid("reservation", err, "quantity")
	_, err = c.ent.BatchReserveSeats(svc, &entitlementpb.BatchReserveSeatsRequest{Reservations: []*entitlementpb.ReserveSeatsRequest{reserve}})
	invalid("batch reservation", err, "reservations[0].quantity")
	_, err = c.ent.MoveSeats(svc, &entitlementpb.MoveSeatsRequest{
		ReservationId: uuid.NewString(), NewReservationId: uuid.NewString(), Quantity: math.MaxInt64, ToAccount: "accounts/OTHER",
	})
	invalid("seat move", err, "quantity")

	require.Equal(t, before, available(), "nothing was taken")
	require.Len(t, list(admin, "/v1/fulfillments", nil, "fulfillments"), 1, "nor made")
	require.Equal(t, "fulfillments/"+f["fulfillment_id"].(string), f["name"])

	// The bound itself is a quantity like any other.
	admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-MAX", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "fcad", 0, "license_model", "licenseModels/float", "quantity", strconv.FormatInt(quantity.Max, 10)),
	}})
}
