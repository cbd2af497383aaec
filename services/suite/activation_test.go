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
