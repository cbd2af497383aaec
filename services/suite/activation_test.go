package suite_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// ENT-5 / PLT-6 through the license service: racing activations never hand out
// more seats than the line item holds, and one request retried from many clients
// at once produces one fulfillment holding its seats once.
func TestConcurrentActivations_ENT5(t *testing.T) {
	env := suitetest.Start(t)
	seed := env.SeedLineItem(t, "race-co", 10)
	lic := licensepb.NewLicenseServiceClient(env.Dial(t, "license"))
	ent := entitlementpb.NewEntitlementServiceClient(env.Dial(t, "entitlement"))
	ctx := env.As(t, suitetest.Producer("race-co"))
	li := "lineItems/" + seed.ActivationID

	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for i := range 25 {
		wg.Go(func() {
			_, err := lic.ActivateLineItem(ctx, &licensepb.ActivateLineItemRequest{LineItem: li, HostId: fmt.Sprintf("HOSTNAME=h%d", i), Quantity: 1, RequestId: fmt.Sprintf("req-%d", i)})
			if err == nil {
				mu.Lock()
				granted++
				mu.Unlock()
				return
			}
			assert.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
		})
	}
	wg.Wait()
	require.Equal(t, 10, granted)
	got, err := ent.GetLineItem(ctx, &entitlementpb.GetLineItemRequest{Name: li})
	require.NoError(t, err)
	require.Zero(t, got.GetAvailable())

	// Free the line item up in a second one and retry one request from 10 clients.
	seed2 := env.SeedLineItem(t, "race-co", 10)
	li2 := "lineItems/" + seed2.ActivationID
	ids := make(chan string, 10)
	for range 10 {
		wg.Go(func() {
			f, err := lic.ActivateLineItem(ctx, &licensepb.ActivateLineItemRequest{LineItem: li2, HostId: "HOSTNAME=same", Quantity: 4, RequestId: "one-request"})
			if assert.NoError(t, err) {
				ids <- f.GetFulfillmentId()
			}
		})
	}
	wg.Wait()
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		}
		require.Equal(t, first, id, "every retry returns the same fulfillment")
	}
	got, err = ent.GetLineItem(ctx, &entitlementpb.GetLineItemRequest{Name: li2})
	require.NoError(t, err)
	require.EqualValues(t, 6, got.GetAvailable(), "the request's seats count once")
}

// Activations that arrive together are committed together (group commit), yet each
// stays all or nothing: racing two-line activations, of which at most five can have
// the scarce line's seats, and one-line activations of the other line. An
// activation refused for one line gives the other line's seats back, and the
// successful ones hold exactly their seats, counted once (SPEC ENT-5, LIC-4).
func TestGroupedActivationsStayAllOrNothing_ENT5(t *testing.T) {
	env := suitetest.Start(t)
	_, _, ids := batchWorld(t, env)
	lic := licensepb.NewLicenseServiceClient(env.Dial(t, "license"))
	ent := entitlementpb.NewEntitlementServiceClient(env.Dial(t, "entitlement"))
	ctx := env.As(t, suitetest.Producer("order-co"))
	plenty, scarce := "lineItems/"+ids["SO-B/1"], "lineItems/"+ids["SO-B/2"] // 10 and 5 seats

	var wg sync.WaitGroup
	var mu sync.Mutex
	var pairs, singles int
	fulfillments := map[string]bool{}
	refused := func(err error) {
		assert.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
	}
	for i := range 12 {
		wg.Go(func() {
			r, err := lic.ActivateLineItems(ctx, &licensepb.ActivateLineItemsRequest{
				Lines: []*licensepb.ActivationLine{{LineItem: plenty}, {LineItem: scarce}},
				Hosts: []*licensepb.HostGroup{{ServerHostIds: []string{fmt.Sprintf("HOSTNAME=pair%d", i)}}},
			})
			if err != nil {
				refused(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			pairs++
			for _, f := range r.GetFulfillments() {
				fulfillments[f.GetName()] = true
			}
		})
	}
	for i := range 8 {
		wg.Go(func() {
			f, err := lic.ActivateLineItem(ctx, &licensepb.ActivateLineItemRequest{LineItem: plenty, HostId: fmt.Sprintf("HOSTNAME=one%d", i), Quantity: 1})
			if err != nil {
				refused(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			singles++
			fulfillments[f.GetName()] = true
		})
	}
	wg.Wait()

	used := func(name string) int64 {
		li, err := ent.GetLineItem(ctx, &entitlementpb.GetLineItemRequest{Name: name})
		require.NoError(t, err)
		return li.GetQuantity() - li.GetAvailable()
	}
	// Which racers win depends on timing (a doomed pair holds seats until it gives
	// them back); the counts must agree whatever the order.
	require.Positive(t, pairs)
	require.LessOrEqual(t, pairs, 5)
	require.EqualValues(t, pairs, used(scarce))
	require.EqualValues(t, pairs+singles, used(plenty), "refused pairs gave their other seats back")
	require.LessOrEqual(t, pairs+singles, 10)
	require.Len(t, fulfillments, 2*pairs+singles)
	list, err := lic.ListFulfillments(ctx, &licensepb.ListFulfillmentsRequest{PageSize: 100})
	require.NoError(t, err)
	require.Len(t, list.GetFulfillments(), len(fulfillments), "no fulfillment of a refused activation was stored")
}
