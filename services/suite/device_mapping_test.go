package suite_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/seats"
	"github.com/tessera-dev/tessera/services/suite"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// seatWorld is a tenant with a product and license model to sell line items of, a
// device client, and the device schema to look under the API (sequence, status,
// claims) and to simulate a crashed device service with its own ledger.
type seatWorld struct {
	env      *suitetest.Env
	tenant   string
	dev      devicepb.DeviceServiceClient
	ent      entitlementpb.EntitlementServiceClient
	acc      accountpb.AccountServiceClient
	producer context.Context
	product  string
	model    string
	pool     *pgxpool.Pool
	orders   int
}

func newSeatWorld(t *testing.T, tenant string, tune ...func(*suite.Config)) *seatWorld {
	t.Helper()
	env := suitetest.Start(t, tune...)
	seed := env.SeedLineItem(t, tenant, 1)
	w := &seatWorld{
		env: env, tenant: tenant,
		dev:      devicepb.NewDeviceServiceClient(env.Dial(t, "device")),
		ent:      entitlementpb.NewEntitlementServiceClient(env.Dial(t, "entitlement")),
		acc:      accountpb.NewAccountServiceClient(env.Dial(t, "account")),
		producer: env.As(t, suitetest.Producer(tenant)),
		product:  "products/" + seed.ProductID,
	}
	li, err := w.ent.GetLineItem(w.producer, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + seed.ActivationID})
	require.NoError(t, err)
	w.model = li.GetLicenseModel()
	w.pool, err = pg.Connect(t.Context(), env.DatabaseURL, "device", 4)
	require.NoError(t, err)
	t.Cleanup(w.pool.Close)
	return w
}

func (w *seatWorld) account(t *testing.T, name string) string {
	t.Helper()
	a, err := w.acc.CreateAccount(w.producer, &accountpb.CreateAccountRequest{Account: &accountpb.Account{DisplayName: name, Type: accountpb.AccountType_ACCOUNT_TYPE_CUSTOMER}})
	require.NoError(t, err)
	return a.GetAccountId()
}

// lineItem sells the account a line item of quantity seats; tune changes the line.
func (w *seatWorld) lineItem(t *testing.T, account string, quantity int64, tune ...func(*entitlementpb.OrderLine)) string {
	t.Helper()
	w.orders++
	line := &entitlementpb.OrderLine{LineNumber: "1", Product: w.product, LicenseModel: w.model, Quantity: quantity}
	for _, f := range tune {
		f(line)
	}
	en, err := w.ent.CreateOrder(w.producer, &entitlementpb.CreateOrderRequest{
		OrderId: fmt.Sprintf("SO-%s-%d", account, w.orders), SoldTo: "accounts/" + account, Lines: []*entitlementpb.OrderLine{line},
	})
	require.NoError(t, err)
	return en.GetLineItems()[0].GetActivationId()
}

// customer is a customer administrator acting for the accounts.
func (w *seatWorld) customer(t *testing.T, accounts ...string) context.Context {
	return w.env.As(t, w.customerPrincipal(authz.RoleCustomerAdmin.Permissions, accounts...))
}

func (w *seatWorld) customerPrincipal(perms []authz.Permission, accounts ...string) *commonpb.Principal {
	p := &commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_USER, TenantId: w.tenant, UserId: "user-" + accounts[0],
		AccountIds: accounts, MemberAccountIds: accounts[:1],
	}
	for _, perm := range perms {
		p.Permissions = append(p.Permissions, string(perm))
	}
	return p
}

func (w *seatWorld) device(t *testing.T, account string) string {
	t.Helper()
	d, err := w.dev.CreateDevice(w.producer, &devicepb.CreateDeviceRequest{Device: &devicepb.Device{
		Account: "accounts/" + account, DisplayName: "Device", Type: devicepb.DeviceType_DEVICE_TYPE_STANDALONE,
	}})
	require.NoError(t, err)
	return d.GetDeviceId()
}

// unownedDevice stores a device without owner, as an import or a capability request
// leaves one.
func (w *seatWorld) unownedDevice(t *testing.T) string {
	t.Helper()
	id := "UNOWNED-" + uuid.NewString()[:8]
	_, err := w.pool.Exec(t.Context(), `INSERT INTO devices (tenant_id, id, display_name, device_type) VALUES ($1, $2, 'Unowned', 'client')`, w.tenant, id)
	require.NoError(t, err)
	return id
}

func (w *seatWorld) skipAccountCheck(t *testing.T, skip bool) {
	t.Helper()
	_, err := w.pool.Exec(t.Context(), `INSERT INTO device_settings (tenant_id, skip_account_check) VALUES ($1, $2)
		ON CONFLICT (tenant_id) DO UPDATE SET skip_account_check = $2`, w.tenant, skip)
	require.NoError(t, err)
}

func (w *seatWorld) available(t *testing.T, activationID string) int64 {
	t.Helper()
	li, err := w.ent.GetLineItem(w.producer, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + activationID})
	require.NoError(t, err)
	return li.GetAvailable()
}

// held is what the device's live mappings hold of the line item, read under the API.
func (w *seatWorld) held(t *testing.T, deviceID, activationID string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT coalesce(sum(quantity), 0)::bigint FROM device_line_items
		WHERE tenant_id = $1 AND device_id = $2 AND activation_id = $3 AND ended_at IS NULL`, w.tenant, deviceID, activationID).Scan(&n))
	return n
}

// heldAll is what every device holds of the line item.
func (w *seatWorld) heldAll(t *testing.T, activationID string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT coalesce(sum(quantity), 0)::bigint FROM device_line_items
		WHERE tenant_id = $1 AND activation_id = $2 AND ended_at IS NULL`, w.tenant, activationID).Scan(&n))
	return n
}

func (w *seatWorld) row(t *testing.T, deviceID string) (owner, status string, sequence int64) {
	t.Helper()
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT coalesce(account_id, ''), status, sequence FROM devices WHERE tenant_id = $1 AND id = $2`,
		w.tenant, deviceID).Scan(&owner, &status, &sequence))
	return owner, status, sequence
}

func (w *seatWorld) events(t *testing.T, subject string) int {
	t.Helper()
	var n int
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND subject = $2`, w.tenant, subject).Scan(&n))
	return n
}

// ledger is the device service's seat ledger as a crashed replica left it: the test
// drives its steps by hand.
func (w *seatWorld) ledger(t *testing.T) (*seats.Ledger, context.Context) {
	t.Helper()
	service := &commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_SERVICE, TenantId: w.tenant, TenantWide: true, Service: "device",
		Permissions: []string{string(authz.SeatsReserve), string(authz.EntitlementsView)},
	}
	return seats.NewLedger(w.pool, seats.Client{Ent: w.ent}, "device", slog.Default()), w.env.As(t, service)
}

func (w *seatWorld) mapOne(ctx context.Context, deviceID, activationID string, quantity int64, requestID string) (*devicepb.Device, error) {
	return w.dev.MapLineItem(ctx, &devicepb.MapLineItemRequest{
		Device: "devices/" + deviceID, LineItem: "lineItems/" + activationID, Quantity: quantity, RequestId: requestID,
	})
}

func (w *seatWorld) unmap(ctx context.Context, deviceID, activationID string, quantity int64, requestID string) (*devicepb.Device, error) {
	return w.dev.UnmapLineItem(ctx, &devicepb.UnmapLineItemRequest{
		Device: "devices/" + deviceID, LineItem: "lineItems/" + activationID, Quantity: quantity, RequestId: requestID,
	})
}

func violationFields(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				out = append(out, fv.GetField())
			}
		}
	}
	return out
}

// ENT-5 through the device service: 50 racing mappings on a 10-seat line item hold
// exactly 10 seats, each counted once, on whichever devices won.
func TestConcurrentMappingsNeverOversell_DEV6_ENT5(t *testing.T) {
	w := newSeatWorld(t, "map-race")
	acct := w.account(t, "Race")
	li := w.lineItem(t, acct, 10)
	devices := []string{w.device(t, acct), w.device(t, acct), w.device(t, acct), w.device(t, acct), w.device(t, acct)}
	ctx := w.customer(t, acct)

	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for i := range 50 {
		wg.Go(func() {
			_, err := w.mapOne(ctx, devices[i%len(devices)], li, 1, fmt.Sprintf("race-%d", i))
			if err != nil {
				assert.Contains(t, []codes.Code{codes.FailedPrecondition, codes.InvalidArgument}, status.Code(err), "%v", err)
				return
			}
			mu.Lock()
			granted++
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, 10, granted)
	require.Zero(t, w.available(t, li))
	require.EqualValues(t, 10, w.heldAll(t, li))
	require.Equal(t, 10, w.events(t, "tessera.device.device.line_item_mapped"))
}

// PLT-6: one mapping request retried 20 times at once counts once, a replay after
// the line item filled up answers the first result, and the request ID cannot be
// reused for other parameters.
func TestReplayedMappingCountsOnce_DEV6_ENT5(t *testing.T) {
	w := newSeatWorld(t, "map-replay")
	acct := w.account(t, "Replay")
	li := w.lineItem(t, acct, 5)
	d := w.device(t, acct)
	ctx := w.customer(t, acct)

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := w.mapOne(ctx, d, li, 3, "one-request")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	require.EqualValues(t, 2, w.available(t, li))
	require.EqualValues(t, 3, w.held(t, d, li))
	_, _, seq := w.row(t, d)
	require.EqualValues(t, 1, seq, "one change of what the device holds")

	_, err := w.mapOne(ctx, d, li, 2, "fill-up")
	require.NoError(t, err)
	require.Zero(t, w.available(t, li))
	got, err := w.mapOne(ctx, d, li, 3, "one-request")
	require.NoError(t, err, "a replay needs no free seat")
	require.EqualValues(t, 5, got.GetLineItems()[0].GetQuantity())
	require.EqualValues(t, 5, w.held(t, d, li))

	_, err = w.mapOne(ctx, d, li, 1, "one-request")
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, []string{"request_id"}, violationFields(err))
}

// A device service that died between reserving and committing leaves a pending
// claim: a retry of the request finishes it counting the seats once; if nobody
// retries within the grace, the reconciler gives the seats back and a late retry is
// told to start afresh.
func TestCrashBetweenReserveAndCommitIsReconciled_DEV6_ENT5(t *testing.T) {
	w := newSeatWorld(t, "map-crash")
	acct := w.account(t, "Crash")
	li := w.lineItem(t, acct, 10)
	d := w.device(t, acct)
	ctx := w.customer(t, acct)
	ledger, sctx := w.ledger(t)
	claimOf := func(requestID string, n int64) seats.Claim {
		return seats.Claim{ID: ids.FromKey(w.tenant, "device", requestID+"/map/"+li), TenantID: w.tenant, ActivationID: li, Quantity: n}
	}

	// Died after reserving; the client retries.
	_, err := ledger.Begin(sctx, claimOf("retried", 4))
	require.NoError(t, err)
	require.EqualValues(t, 6, w.available(t, li))
	_, err = w.mapOne(ctx, d, li, 4, "retried")
	require.NoError(t, err)
	require.EqualValues(t, 6, w.available(t, li), "the retry took nothing more")
	require.EqualValues(t, 4, w.held(t, d, li))

	// Died after reserving; nobody retries in time.
	_, err = ledger.Begin(sctx, claimOf("abandoned", 3))
	require.NoError(t, err)
	require.EqualValues(t, 3, w.available(t, li))
	ledger.Grace = 0
	_, err = ledger.Reconcile(sctx)
	require.NoError(t, err)
	require.EqualValues(t, 6, w.available(t, li), "the abandoned reservation's seats are back")
	_, err = w.mapOne(ctx, d, li, 3, "abandoned")
	require.Equal(t, codes.Aborted, status.Code(err), "%v", err)
	require.EqualValues(t, 6, w.available(t, li))
	require.EqualValues(t, 4, w.held(t, d, li))
}

// MapLineItems checks every entry before it takes anything and reports each failure
// on its own entry; after the caller fixes them, the retry maps everything at once.
// validate_only runs the checks and takes nothing.
func TestMapManyReportsEveryFailure_DEV6(t *testing.T) {
	w := newSeatWorld(t, "map-many")
	acct := w.account(t, "Many")
	a, b := w.lineItem(t, acct, 5), w.lineItem(t, acct, 2)
	d := w.device(t, acct)
	ctx := w.customer(t, acct)
	req := &devicepb.MapLineItemsRequest{Device: "devices/" + d, RequestId: "many-1", Items: []*devicepb.LineItemMapping{
		{LineItem: "lineItems/" + a, Quantity: 2},
		{LineItem: "lineItems/NOPE-404", Quantity: 1},
		{LineItem: "lineItems/" + b, Quantity: 3},
		{LineItem: "lineItems/" + a, Quantity: 1},
		{ActivationId: b, Quantity: 0},
		{LineItem: "lineItems/" + b, Quantity: 1, ExpireTime: timestamppb.New(time.Now().Add(-time.Hour))},
	}}
	_, err := w.dev.MapLineItems(ctx, req)
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.ElementsMatch(t, []string{"items[3].line_item", "items[4].activation_id", "items[4].quantity", "items[5].line_item"}, violationFields(err),
		"the request's shape first: duplicates and quantity bounds")

	req.Items = req.GetItems()[:3]
	req.Items = append(req.Items, &devicepb.LineItemMapping{LineItem: "lineItems/" + acctItem(t, w, acct), Quantity: 1, ExpireTime: timestamppb.New(time.Now().Add(-time.Hour))})
	_, err = w.dev.MapLineItems(ctx, req)
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.ElementsMatch(t, []string{"items[1].line_item", "items[2].quantity", "items[3].expire_time"}, violationFields(err))
	require.EqualValues(t, 5, w.available(t, a), "nothing was taken")

	req.Items = []*devicepb.LineItemMapping{{LineItem: "lineItems/" + a, Quantity: 2}, {ActivationId: b, Quantity: 2}}
	req.ValidateOnly = true
	_, err = w.dev.MapLineItems(ctx, req)
	require.NoError(t, err)
	require.EqualValues(t, 5, w.available(t, a), "validate_only takes nothing")
	req.ValidateOnly = false
	got, err := w.dev.MapLineItems(ctx, req)
	require.NoError(t, err)
	require.Len(t, got.GetDevice().GetLineItems(), 2)
	require.EqualValues(t, 3, w.available(t, a))
	require.Zero(t, w.available(t, b))
	_, _, seq := w.row(t, d)
	require.EqualValues(t, 1, seq)

	// All or nothing under a race: b is empty now, so a mapping of a and b fails
	// whole and gives a's seats back.
	_, err = w.dev.MapLineItems(ctx, &devicepb.MapLineItemsRequest{Device: "devices/" + d, Items: []*devicepb.LineItemMapping{
		{LineItem: "lineItems/" + a, Quantity: 1}, {LineItem: "lineItems/" + b, Quantity: 1},
	}})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.EqualValues(t, 3, w.available(t, a))
}

func acctItem(t *testing.T, w *seatWorld, acct string) string { return w.lineItem(t, acct, 1) }

// UnmapLineItem gives back exactly what is asked under a race: ten concurrent
// give-backs of one seat each from mappings of 4 + 6 seats leave none, the line item
// gets all ten back, and a replayed give-back counts once.
func TestUnmapGivesBackExactly_DEV6_ENT5(t *testing.T) {
	w := newSeatWorld(t, "unmap-race")
	acct := w.account(t, "Unmap")
	li := w.lineItem(t, acct, 12)
	d := w.device(t, acct)
	ctx := w.customer(t, acct)
	_, err := w.mapOne(ctx, d, li, 4, "m1")
	require.NoError(t, err)
	_, err = w.mapOne(ctx, d, li, 6, "m2")
	require.NoError(t, err)
	require.EqualValues(t, 2, w.available(t, li))

	_, err = w.unmap(ctx, d, li, 11, "")
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, []string{"quantity"}, violationFields(err))

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_, err := w.unmap(ctx, d, li, 1, fmt.Sprintf("u-%d", i))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	require.EqualValues(t, 2, w.held(t, d, li))
	require.EqualValues(t, 10, w.available(t, li))

	for range 5 {
		wg.Go(func() {
			_, err := w.unmap(ctx, d, li, 1, "u-replayed")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, w.held(t, d, li))
	require.EqualValues(t, 11, w.available(t, li))
	_, err = w.unmap(ctx, d, li, 1, "u-last")
	require.NoError(t, err)
	require.Zero(t, w.held(t, d, li))
	require.EqualValues(t, 12, w.available(t, li))
	require.Equal(t, 10, w.events(t, "tessera.device.device.line_item_unmapped"))
	_, err = w.unmap(ctx, d, li, 1, "")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "nothing left to give back")
}

// A give-back that died after reserving its replacing claim is settled by the
// reconciler: the replaced seats are restored exactly, the mapping is unchanged.
func TestCrashedUnmapIsReconciled_DEV6_ENT5(t *testing.T) {
	w := newSeatWorld(t, "unmap-crash")
	acct := w.account(t, "Crash")
	li := w.lineItem(t, acct, 10)
	d := w.device(t, acct)
	ctx := w.customer(t, acct)
	_, err := w.mapOne(ctx, d, li, 6, "m")
	require.NoError(t, err)
	var claim uuid.UUID
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT claim_id FROM device_line_items WHERE tenant_id = $1 AND device_id = $2`, w.tenant, d).Scan(&claim))
	require.Eventually(t, func() bool {
		var state string
		_ = w.pool.QueryRow(t.Context(), `SELECT state FROM seat_claims WHERE id = $1`, claim).Scan(&state)
		return state == "confirmed"
	}, 10*time.Second, 20*time.Millisecond)

	ledger, sctx := w.ledger(t)
	replacing := ids.FromKey(w.tenant, "device", "u/unmap/"+claim.String())
	_, err = ledger.Begin(sctx, seats.Claim{ID: replacing, TenantID: w.tenant, ActivationID: li, Quantity: 2, Replaces: &claim})
	require.NoError(t, err)
	ledger.Grace = 0
	_, err = ledger.Reconcile(sctx)
	require.NoError(t, err)
	require.EqualValues(t, 4, w.available(t, li), "the replaced seats are held again")
	require.EqualValues(t, 6, w.held(t, d, li))

	_, err = w.unmap(ctx, d, li, 4, "u2")
	require.NoError(t, err)
	require.EqualValues(t, 8, w.available(t, li))
	require.EqualValues(t, 2, w.held(t, d, li))
}

// DEV-3: with the account check on, only the device owner's line items map to it;
// with it off, an unrelated account maps its own line items to a device whose ID it
// knows and gives back only its own; channel partners map only by activation ID and
// only with the check off. Owners control every mapping on their device.
func TestAccountCheckMatrix_DEV3(t *testing.T) {
	w := newSeatWorld(t, "acct-check")
	owner, other, tier := w.account(t, "Owner"), w.account(t, "Other"), w.account(t, "Tier")
	ownLI, otherLI, tierLI := w.lineItem(t, owner, 5), w.lineItem(t, other, 5), w.lineItem(t, tier, 5)
	d := w.device(t, owner)
	asOwner, asOther := w.customer(t, owner), w.customer(t, other)
	partner := w.customerPrincipal(authz.RolePartnerAdmin.Permissions, "partner-home", tier)
	partner.Partner = true
	asPartner := w.env.As(t, partner)
	byID := func(ctx context.Context, activationID string) error {
		_, err := w.dev.MapLineItems(ctx, &devicepb.MapLineItemsRequest{Device: "devices/" + d, Items: []*devicepb.LineItemMapping{{ActivationId: activationID, Quantity: 1}}})
		return err
	}

	// Check on.
	_, err := w.mapOne(asOther, d, otherLI, 1, "")
	require.Equal(t, codes.NotFound, status.Code(err), "an unrelated account does not reach the device: %v", err)
	_, err = w.mapOne(w.producer, d, otherLI, 1, "")
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, []string{"line_item"}, violationFields(err), "another account's line item")
	_, err = w.mapOne(asOwner, d, otherLI, 1, "")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "the owner cannot see another account's line item")
	require.Equal(t, codes.NotFound, status.Code(byID(asPartner, tierLI)), "partners reach others' devices only with the check off")
	_, err = w.mapOne(asOwner, d, ownLI, 2, "")
	require.NoError(t, err)

	// Check off.
	w.skipAccountCheck(t, true)
	_, err = w.mapOne(asOther, d, otherLI, 2, "")
	require.NoError(t, err)
	_, err = w.mapOne(asOther, d, ownLI, 1, "")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "still only its own line items")
	_, err = w.mapOne(asPartner, d, tierLI, 1, "")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "partners map by activation ID")
	require.NoError(t, byID(asPartner, tierLI))
	require.EqualValues(t, 1, w.held(t, d, tierLI))

	_, err = w.unmap(asOther, d, ownLI, 1, "")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "not its mapping")
	_, err = w.unmap(asOther, d, otherLI, 1, "")
	require.NoError(t, err)
	_, err = w.unmap(asOwner, d, otherLI, 1, "")
	require.NoError(t, err, "the owner controls every mapping")
	_, err = w.unmap(asOwner, d, tierLI, 1, "")
	require.NoError(t, err)
	require.Zero(t, w.heldAll(t, otherLI))
	require.EqualValues(t, 5, w.available(t, otherLI))
	owned, _, _ := w.row(t, d)
	require.Equal(t, owner, owned, "mapping never changes an owned device's owner")
}

// DEV-4: mapping to an unowned device needs devices.claim and makes the first line
// item's account the owner; of two racing claimers one owns the device and the
// other's seats go back.
func TestClaimAndMap_DEV4(t *testing.T) {
	w := newSeatWorld(t, "claim")
	a, b := w.account(t, "A"), w.account(t, "B")
	liA, liB := w.lineItem(t, a, 5), w.lineItem(t, b, 5)
	d := w.unownedDevice(t)

	noClaim := w.customerPrincipal(authz.RoleCustomerUser.Permissions, a)
	noClaim.Permissions = append(noClaim.Permissions, string(authz.DevicesManage))
	_, err := w.mapOne(w.env.As(t, noClaim), d, liA, 1, "")
	require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)

	_, err = w.mapOne(w.customer(t, a), d, liA, 2, "claim-a")
	require.NoError(t, err)
	owner, _, _ := w.row(t, d)
	require.Equal(t, a, owner)
	require.Equal(t, 1, w.events(t, "tessera.device.device.owner_changed"))
	_, err = w.mapOne(w.customer(t, a), d, liA, 1, "")
	require.NoError(t, err, "an owned device keeps its owner")
	owner, _, _ = w.row(t, d)
	require.Equal(t, a, owner)

	for round := range 5 {
		d := w.unownedDevice(t)
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i, c := range []struct{ acct, li string }{{a, liA}, {b, liB}} {
			wg.Go(func() {
				_, results[i] = w.mapOne(w.customer(t, c.acct), d, c.li, 1, fmt.Sprintf("race-%d-%d", round, i))
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range results {
			if err == nil {
				wins++
			}
		}
		require.Equal(t, 1, wins, "%v", results)
		owner, _, _ := w.row(t, d)
		winner := a
		if results[1] == nil {
			winner = b
		}
		require.Equal(t, winner, owner)
	}
	require.EqualValues(t, 5, w.available(t, liA)+w.heldAll(t, liA))
	require.EqualValues(t, 5, w.available(t, liB)+w.heldAll(t, liB))
}

// DEV-7: an expiry override lies after now and before the line item's own expiry;
// a permanent line item takes any future time; a term counted from the first
// activation is dated from now, as the license service dates it. The override is
// stored on its row and a second mapping is a row of its own.
func TestExpiryOverrideBounds_DEV7(t *testing.T) {
	w := newSeatWorld(t, "override")
	acct := w.account(t, "Override")
	in30 := time.Now().Add(30 * 24 * time.Hour)
	dated := w.lineItem(t, acct, 5, func(l *entitlementpb.OrderLine) {
		l.StartTime, l.ExpireTime = timestamppb.New(time.Now().Add(-time.Hour)), timestamppb.New(in30)
	})
	permanent := w.lineItem(t, acct, 5)
	term := w.lineItem(t, acct, 5, func(l *entitlementpb.OrderLine) { l.StartAtFirstActivation, l.ExpireAfter = true, "10d" })
	d := w.device(t, acct)
	ctx := w.customer(t, acct)
	mapAt := func(li string, at time.Time) error {
		_, err := w.dev.MapLineItems(ctx, &devicepb.MapLineItemsRequest{Device: "devices/" + d, Items: []*devicepb.LineItemMapping{
			{LineItem: "lineItems/" + li, Quantity: 1, ExpireTime: timestamppb.New(at)},
		}})
		return err
	}
	for _, c := range []struct {
		li string
		at time.Time
		ok bool
	}{
		{dated, time.Now().Add(-time.Minute), false},
		{dated, in30.Add(time.Hour), false},
		{dated, in30.Add(-time.Hour), true},
		{permanent, time.Now().Add(100 * 365 * 24 * time.Hour), true},
		{permanent, time.Now().Add(-time.Hour), false},
		{term, time.Now().Add(11 * 24 * time.Hour), false},
		{term, time.Now().Add(9 * 24 * time.Hour), true},
		{dated, in30.Add(-2 * time.Hour), true},
	} {
		err := mapAt(c.li, c.at)
		if c.ok {
			require.NoError(t, err, "%s at %s", c.li, c.at)
			continue
		}
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%s at %s: %v", c.li, c.at, err)
		require.Equal(t, []string{"items[0].expire_time"}, violationFields(err))
	}
	var rows, withOverride int
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT count(*), count(expire_at) FROM device_line_items WHERE tenant_id = $1 AND activation_id = $2`,
		w.tenant, dated).Scan(&rows, &withOverride))
	require.Equal(t, 2, rows, "a second mapping is a row of its own")
	require.Equal(t, 2, withOverride)
	var configured time.Time
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT configured_expire_at FROM device_line_items WHERE tenant_id = $1 AND activation_id = $2`,
		w.tenant, term).Scan(&configured))
	require.WithinDuration(t, time.Now().Add(10*24*time.Hour), configured, time.Minute)
}

// Every mapping RPC refuses a caller without devices.manage and finds nothing of
// another tenant.
func TestMappingPermissionsAndTenants_DEV6(t *testing.T) {
	w := newSeatWorld(t, "map-perm")
	acct := w.account(t, "Perm")
	li := w.lineItem(t, acct, 5)
	d, dest := w.device(t, acct), w.device(t, acct)
	_, err := w.mapOne(w.customer(t, acct), d, li, 1, "")
	require.NoError(t, err)
	viewer := w.env.As(t, w.customerPrincipal([]authz.Permission{authz.DevicesView}, acct))
	stranger := w.env.As(t, suitetest.Producer("elsewhere"))
	calls := map[string]func(ctx context.Context) error{
		"MapLineItem": func(ctx context.Context) error { _, err := w.mapOne(ctx, d, li, 1, ""); return err },
		"MapLineItems": func(ctx context.Context) error {
			_, err := w.dev.MapLineItems(ctx, &devicepb.MapLineItemsRequest{Device: "devices/" + d, Items: []*devicepb.LineItemMapping{{ActivationId: li, Quantity: 1}}})
			return err
		},
		"UnmapLineItem": func(ctx context.Context) error { _, err := w.unmap(ctx, d, li, 1, ""); return err },
		"ReturnDevice": func(ctx context.Context) error {
			_, err := w.dev.ReturnDevice(ctx, &devicepb.ReturnDeviceRequest{Name: "devices/" + d, DestinationDevice: "devices/" + dest})
			return err
		},
		"MoveDevice": func(ctx context.Context) error {
			_, err := w.dev.MoveDevice(ctx, &devicepb.MoveDeviceRequest{Name: "devices/" + d, ToAccount: "accounts/" + acct})
			return err
		},
	}
	for name, call := range calls {
		require.Equal(t, codes.PermissionDenied, status.Code(call(viewer)), name)
		err := call(stranger)
		require.Contains(t, []codes.Code{codes.NotFound, codes.InvalidArgument}, status.Code(err), "%s: %v", name, err)
	}
	require.EqualValues(t, 1, w.held(t, d, li), "nothing changed")
	_, st, _ := w.row(t, d)
	require.Equal(t, "active", st)
}

// DEV-6: seats held of a line item that an upgrade superseded show under the newest
// line item of the chain, summed with its own, and giving back by the newest line
// item's name gives them back too.
func TestUpgradeChainShowsNewest_DEV6(t *testing.T) {
	w := newSeatWorld(t, "chain")
	acct := w.account(t, "Chain")
	cat := entitlementpb.NewCatalogServiceClient(w.env.Dial(t, "entitlement"))
	product := func(version string, upgradeTo ...string) string {
		p, err := cat.CreateProduct(w.producer, &entitlementpb.CreateProductRequest{Product: &entitlementpb.Product{
			DisplayName: "Chained " + version, Version: version, LicenseTechnology: entitlementpb.LicenseTechnology_LICENSE_TECHNOLOGY_CERTIFICATE,
			Features: []*entitlementpb.Feature{{Name: "f", Version: version}}, LicenseModels: []string{w.model}, UpgradeTo: upgradeTo,
		}})
		require.NoError(t, err)
		return p.GetName()
	}
	v2 := product("2.0")
	v1 := product("1.0", v2)
	old := w.lineItem(t, acct, 5, func(l *entitlementpb.OrderLine) { l.Product = v1 })
	d := w.device(t, acct)
	ctx := w.customer(t, acct)
	_, err := w.mapOne(ctx, d, old, 2, "")
	require.NoError(t, err)
	up := w.lineItem(t, acct, 5, func(l *entitlementpb.OrderLine) {
		l.Product, l.Type, l.Supersedes = v2, entitlementpb.LineItemType_LINE_ITEM_TYPE_UPGRADE, old
	})
	time.Sleep(6 * time.Second) // an account's chains are reused for 5 s
	got, err := w.mapOne(ctx, d, up, 1, "")
	require.NoError(t, err)
	require.Len(t, got.GetLineItems(), 1, "%v", got.GetLineItems())
	require.Equal(t, "lineItems/"+up, got.GetLineItems()[0].GetLineItem())
	require.EqualValues(t, 3, got.GetLineItems()[0].GetQuantity())

	before := w.available(t, old)
	_, err = w.unmap(ctx, d, up, 3, "")
	require.NoError(t, err)
	require.Zero(t, w.held(t, d, old))
	require.Zero(t, w.held(t, d, up))
	require.Equal(t, before+2, w.available(t, old), "the superseded line item's seats went back to it")
	require.EqualValues(t, 5, w.available(t, up))
}

// Over REST: a bad mapping is a 400 naming every entry at fault and takes nothing;
// the fixed request maps, and an unmap and a return answer with the device.
func TestMappingOverREST_DEV6(t *testing.T) {
	env := suitetest.Start(t)
	_, admin, lineIDs := batchWorld(t, env)
	d := admin.ok("POST", "/v1/devices", map[string]any{"device": map[string]any{
		"account": "accounts/ACME", "display_name": "Rest box", "type": "DEVICE_TYPE_STANDALONE",
	}})
	name := d["name"].(string)
	li := lineIDs["SO-B/2"] // 5 seats
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/"+name+":mapLineItems", map[string]any{"items": []any{
		map[string]any{"line_item": "lineItems/" + li, "quantity": 0},
		map[string]any{"line_item": "lineItems/NOPE", "quantity": 1},
		map[string]any{"activation_id": li, "quantity": 9},
	}})
	require.ElementsMatch(t, []string{"items[0].quantity", "items[2].activation_id"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/"+name+":mapLineItems", map[string]any{"items": []any{
		map[string]any{"line_item": "lineItems/NOPE", "quantity": 1},
		map[string]any{"activation_id": li, "quantity": 9},
	}})
	require.ElementsMatch(t, []string{"items[0].line_item", "items[1].quantity"}, fieldViolations(e))
	got := admin.ok("POST", "/v1/"+name+":mapLineItems", map[string]any{"request_id": "rest-1", "items": []any{
		map[string]any{"activation_id": li, "quantity": 4},
	}})
	lines := got["device"].(map[string]any)["line_items"].([]any)
	require.Len(t, lines, 1)
	require.EqualValues(t, 4, num(lines[0].(map[string]any)["quantity"]))
	got = admin.ok("POST", "/v1/"+name+":unmapLineItem", map[string]any{"line_item": "lineItems/" + li, "quantity": 1})
	require.EqualValues(t, 3, num(got["line_items"].([]any)[0].(map[string]any)["quantity"]))
	admin.ok("POST", "/v1/"+name+":return", map[string]any{"rma_number": "RMA-REST"})
	admin.refused(http.StatusBadRequest, "POST", "/v1/"+name+":return", map[string]any{"rma_number": strings.Repeat("x", 65)})
}

// DEV-6: an expire_time at the very start of year 1 is a time given, in the past,
// not "no override".
func TestZeroExpireTimeIsChecked_DEV6(t *testing.T) {
	w := newSeatWorld(t, "zero-expiry")
	acct := w.account(t, "Zero")
	li := w.lineItem(t, acct, 5)
	d := w.device(t, acct)
	for _, at := range []*timestamppb.Timestamp{
		{Seconds: -62135596800, Nanos: 1},
		{Seconds: -62135596800},
	} {
		_, err := w.dev.MapLineItems(w.customer(t, acct), &devicepb.MapLineItemsRequest{Device: "devices/" + d, Items: []*devicepb.LineItemMapping{
			{LineItem: "lineItems/" + li, Quantity: 1, ExpireTime: at},
		}})
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", at)
		require.Equal(t, []string{"items[0].expire_time"}, violationFields(err))
	}
	require.Zero(t, w.held(t, d, li))
}

// DEV-6: an obsolete device takes no seats, but gives back the ones it holds.
func TestObsoleteDeviceTakesNoSeats_DEV6(t *testing.T) {
	w := newSeatWorld(t, "obsolete-map")
	acct := w.account(t, "Obsolete")
	li := w.lineItem(t, acct, 5)
	d, src := w.device(t, acct), w.device(t, acct)
	ctx := w.customer(t, acct)
	_, err := w.mapOne(ctx, d, li, 2, "")
	require.NoError(t, err)
	_, err = w.mapOne(ctx, src, li, 1, "")
	require.NoError(t, err)
	_, err = w.pool.Exec(t.Context(), `UPDATE devices SET status = 'obsolete' WHERE tenant_id = $1 AND id = $2`, w.tenant, d)
	require.NoError(t, err)

	_, err = w.mapOne(ctx, d, li, 1, "")
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "obsolete")
	_, err = w.returnDevice(ctx, src, d, "", "")
	require.Equal(t, codes.FailedPrecondition, status.Code(err), "a return moves no seats onto it either")
	require.EqualValues(t, 2, w.held(t, d, li))
	require.EqualValues(t, 1, w.held(t, src, li))

	_, err = w.unmap(ctx, d, li, 2, "")
	require.NoError(t, err)
	require.EqualValues(t, 4, w.available(t, li))
}

// DEV-6: a request ID replayed by another caller is "another request" whatever its
// parameters: it neither confirms the first request nor shows the device.
func TestReplayByAnotherCallerRevealsNothing_DEV6(t *testing.T) {
	w := newSeatWorld(t, "replay-other")
	acct, other := w.account(t, "First"), w.account(t, "Second")
	li, otherLI := w.lineItem(t, acct, 5), w.lineItem(t, other, 5)
	d, dest := w.device(t, acct), w.device(t, acct)
	owner, stranger := w.customer(t, acct), w.customer(t, other)
	_, err := w.mapOne(owner, d, li, 2, "map-1")
	require.NoError(t, err)
	_, err = w.returnDevice(w.producer, d, dest, "RMA-9", "ret-1")
	require.NoError(t, err)

	for _, skip := range []bool{false, true} {
		w.skipAccountCheck(t, skip)
		for name, call := range map[string]func() error{
			"exact map":   func() error { return second(w.mapOne(stranger, d, li, 2, "map-1")) },
			"other map":   func() error { return second(w.mapOne(stranger, d, otherLI, 1, "map-1")) },
			"exact unmap": func() error { return second(w.unmap(stranger, d, li, 2, "map-1")) },
			"exact return": func() error {
				return second(w.returnDevice(stranger, d, dest, "RMA-9", "ret-1"))
			},
			"customer replays producer return": func() error {
				return second(w.returnDevice(owner, d, dest, "RMA-9", "ret-1"))
			},
			"move": func() error {
				return second(w.dev.MoveDevice(stranger, &devicepb.MoveDeviceRequest{Name: "devices/" + d, ToAccount: "accounts/" + other, RequestId: "ret-1"}))
			},
		} {
			err := call()
			require.Equal(t, codes.InvalidArgument, status.Code(err), "%s (skip %v): %v", name, skip, err)
			require.Equal(t, []string{"request_id"}, violationFields(err), name)
		}
	}
	require.EqualValues(t, 2, w.held(t, dest, li))
	require.Zero(t, w.held(t, d, otherLI))
	_, err = w.returnDevice(w.producer, d, dest, "RMA-9", "ret-1")
	require.NoError(t, err, "the caller itself still gets its answer")
}

// DEV-6: a shortage is answered alike whether seen up front or lost to a racing
// request: a field violation on the entry's quantity.
func TestRacedShortageNamesEntry_DEV6(t *testing.T) {
	w := newSeatWorld(t, "map-race-short")
	acct := w.account(t, "Short")
	li := w.lineItem(t, acct, 3)
	devices := []string{w.device(t, acct), w.device(t, acct), w.device(t, acct)}
	ctx := w.customer(t, acct)
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			req := &devicepb.MapLineItemsRequest{
				Device: "devices/" + devices[i%len(devices)], RequestId: fmt.Sprintf("short-%d", i),
				Items: []*devicepb.LineItemMapping{{LineItem: "lineItems/" + li, Quantity: 1}},
			}
			_, err := w.dev.MapLineItems(ctx, req)
			if err != nil {
				assert.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
				assert.Equal(t, []string{"items[0].quantity"}, violationFields(err), "%v", err)
			}
		})
	}
	wg.Wait()
	require.Zero(t, w.available(t, li))
}
