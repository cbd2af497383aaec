package validate_test

import (
	"crypto/ed25519"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/validate"
)

func features(n int) []*entitlementpb.Feature {
	out := make([]*entitlementpb.Feature, n)
	for i := range out {
		out[i] = &entitlementpb.Feature{Name: "f" + strconv.Itoa(i), Version: "1.0"}
	}
	return out
}

func attributes(n int) map[string]string {
	out := make(map[string]string, n)
	for i := range n {
		out["k"+strconv.Itoa(i)] = "v"
	}
	return out
}

func strs(n int, s string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func orderLines(n int) []*entitlementpb.OrderLine {
	out := make([]*entitlementpb.OrderLine, n)
	for i := range out {
		out[i] = &entitlementpb.OrderLine{LineNumber: strconv.Itoa(i + 1)}
	}
	return out
}

func TestMessage_BoundsTheEntries(t *testing.T) {
	kinds := func(n int) []entitlementpb.EntitlementKeyKind {
		return make([]entitlementpb.EntitlementKeyKind, n)
	}
	tests := []struct {
		name string
		req  proto.Message
		want map[string]string // refused field -> description; nil means the request passes
	}{
		{"repeated strings at the default bound", &entitlementpb.CreateProductRequest{Product: &entitlementpb.Product{PartNumbers: strs(100, "PN")}}, nil},
		{
			"repeated strings over the default bound",
			&entitlementpb.CreateProductRequest{Product: &entitlementpb.Product{PartNumbers: strs(101, "PN")}},
			map[string]string{"product.part_numbers": "must have at most 100 entries (has 101)"},
		},
		{"repeated messages at their declared bound", &entitlementpb.CreateProductRequest{Product: &entitlementpb.Product{Features: features(32)}}, nil},
		{
			"repeated messages over their declared bound",
			&entitlementpb.CreateProductRequest{Product: &entitlementpb.Product{Features: features(33)}},
			map[string]string{"product.features": "must have at most 32 entries (has 33)"},
		},
		{
			"the tester's product of 6,000 features",
			&entitlementpb.CreateProductRequest{Product: &entitlementpb.Product{Features: features(6000)}},
			map[string]string{"product.features": "must have at most 32 entries (has 6000)"},
		},
		{"map at its declared bound", &accountpb.CreateAccountRequest{Account: &accountpb.Account{Attributes: attributes(50)}}, nil},
		{
			"map over its declared bound",
			&accountpb.CreateAccountRequest{Account: &accountpb.Account{Attributes: attributes(51)}},
			map[string]string{"account.attributes": "must have at most 50 entries (has 51)"},
		},
		{
			"map nested in a repeated message",
			&entitlementpb.CreateOrderRequest{Lines: []*entitlementpb.OrderLine{{}, {Attributes: attributes(51)}}},
			map[string]string{"lines[1].attributes": "must have at most 50 entries (has 51)"},
		},
		{
			"repeated field nested two levels down",
			&entitlementpb.BatchCreateOrdersRequest{Orders: []*entitlementpb.CreateOrderRequest{{}, {Lines: orderLines(2001)}}},
			map[string]string{"orders[1].lines": "must have at most 2000 entries (has 2001)"},
		},
		{"a batch at its declared bound", &accountpb.BatchGetAccountsRequest{Names: strs(1000, "accounts/a")}, nil},
		{
			"a batch over its declared bound",
			&accountpb.BatchGetAccountsRequest{Names: strs(1001, "accounts/a")},
			map[string]string{"names": "must have at most 1000 entries (has 1001)"},
		},
		{"repeated enums at the default bound", &entitlementpb.ResolveEntitlementKeyRequest{Kinds: kinds(100)}, nil},
		{
			"repeated enums, which hold no strings, over the default bound",
			&entitlementpb.ResolveEntitlementKeyRequest{Kinds: kinds(101)},
			map[string]string{"kinds": "must have at most 100 entries (has 101)"},
		},
		{
			"too many entries is reported alone, not each bad entry",
			&entitlementpb.CreateProductRequest{Product: &entitlementpb.Product{PartNumbers: strs(101, "\x00")}},
			map[string]string{"product.part_numbers": "must have at most 100 entries (has 101)"},
		},
		{
			"bounds and strings together",
			&entitlementpb.CreateProductRequest{ProductId: "c\x00d", Product: &entitlementpb.Product{Features: features(33)}},
			map[string]string{"product.features": "must have at most 32 entries (has 33)", "product_id": "must not contain NUL characters"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violations(t, tt.req)
			if tt.want == nil {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMaxItemsOf_ReadsTheDeclaredOption(t *testing.T) {
	fields := (&entitlementpb.Product{}).ProtoReflect().Descriptor().Fields()
	assert.Equal(t, 32, validate.MaxItemsOf(fields.ByName("features")))
	assert.Equal(t, validate.DefaultMaxItems, validate.MaxItemsOf(fields.ByName("part_numbers")))
}

// The services accept batches larger than the default; the bound declared in the
// protos must never refuse what a service deliberately accepts. Each entry names the
// service's own limit.
func TestBatchesDeclareWhatTheServicesAccept(t *testing.T) {
	accepted := map[protoreflect.FullName]int{
		"tessera.account.v1.BatchGetAccountsRequest.names":                   1000,  // account app: at most 1000 at a time
		"tessera.entitlement.v1.CreateOrderRequest.lines":                    1000,  // entitlement app: MaxBatchLines
		"tessera.entitlement.v1.BatchCreateOrdersRequest.orders":             1000,  // MaxBatchLines, one line each
		"tessera.entitlement.v1.OrderLine.attributes":                        50,    // entitlement app: 50 per line
		"tessera.entitlement.v1.BatchReserveSeatsRequest.reservations":       1000,  // seats: maxBatch
		"tessera.entitlement.v1.BatchConfirmSeatsRequest.reservation_ids":    1000,  // seats: maxBatch
		"tessera.entitlement.v1.BulkEntitlement.keys":                        10000, // bulk: maxKeys
		"tessera.entitlement.v1.ListExpiringLineItemsRequest.accounts":       1000,
		"tessera.entitlement.v1.ReserveSeatsRequest.account_ids":             100000, // a caller's accounts and those below
		"tessera.entitlement.v1.CheckProductAccessRequest.account_ids":       100000,
		"tessera.entitlement.v1.CountAccountEntitlementsRequest.account_ids": 100000,
		"tessera.entitlement.v1.RequestRenewalRequest.activation_ids":        100,  // maxRenewalItems
		"tessera.license.v1.ConsolidateFulfillmentsRequest.fulfillments":     1000, // maxConsolidated
		"tessera.license.v1.ActivateLineItemsRequest.lines":                  100,  // maxActivationLines
		"tessera.license.v1.ActivateLineItemsRequest.hosts":                  50,   // maxHostGroups
		"tessera.license.v1.HostGroup.nodelocked_host_ids":                   64,   // activation: 64 per group
		"tessera.license.v1.UpgradeFulfillmentsRequest.moves":                50,   // maxHostGroups
		"tessera.license.v1.TransferHostsRequest.host_ids":                   50,   // maxTransferHosts
		"tessera.license.v1.FulfilAttributes.ship_to_emails":                 20,
	}
	for name, n := range accepted {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
		require.NoError(t, err, "%s", name)
		fd, ok := d.(protoreflect.FieldDescriptor)
		require.True(t, ok, "%s is a field", name)
		assert.GreaterOrEqual(t, validate.MaxItemsOf(fd), n, "%s", name)
	}
}

// The largest license event: a product with as many features as Product.features
// allows, activated on a node-locked counted model with as many hosts of the longest
// kind as a host group allows, every text attribute (platforms included) at the
// license grammar's bound of 1024 characters. Its
// license.fulfillment.created event must stay well under NATS's default max_payload
// (1 MiB; DESIGN Decision 11). docs/api.md states the same arithmetic.
func TestLargestLicenseEventFitsTheBroker(t *testing.T) {
	bound := func(msg proto.Message, field protoreflect.Name) int {
		return validate.MaxItemsOf(msg.ProtoReflect().Descriptor().Fields().ByName(field))
	}
	nFeatures := bound(&entitlementpb.Product{}, "features")
	nHosts := bound(&licensepb.HostGroup{}, "nodelocked_host_ids")
	nEmails := 20 // the activation's own bound on ship_to_emails

	label := strings.Repeat("a", 60)
	var nodes, servers []licfile.HostID
	for i := range nHosts { // host names of 253 characters, the longest host ID
		h, err := licfile.ParseHostID(fmt.Sprintf("HOSTNAME=%03d%s.%s.%s.%s", i, label, label, label, label[:58]), licfile.Rules{})
		require.NoError(t, err)
		nodes = append(nodes, h)
	}
	for i := range 3 {
		h, err := licfile.ParseHostID(fmt.Sprintf("0000000000%02d", i), licfile.Rules{})
		require.NoError(t, err)
		servers = append(servers, h)
	}
	platforms := strs(31, strings.Repeat("p", 32)) // 1022 characters joined
	spec := licfile.Spec{
		Vendor: strings.Repeat("V", 20), Serial: strings.Repeat("S", 64), Count: 999_999_999_999, Servers: servers, NodeHosts: nodes,
		Attrs: map[string]string{
			"NOTICE": strings.Repeat("n", 1024), "ISSUER": strings.Repeat("i", 1024), "VENDOR_STRING": strings.Repeat("v", 1024),
			"TZ": "America/Argentina/ComodRivadavia", "PLATFORMS": strings.Join(platforms, " "), "BORROW": "8760", "TS_OK": "",
			"VM_ONLY": "", "USER_BASED": "", "OVERDRAFT": "999999999999", "FLEXID_SHARED": "",
		},
	}
	for i := range nFeatures {
		spec.Features = append(spec.Features, licfile.Feature{Name: fmt.Sprintf("F%029d", i), Version: "999999.999999.999999.999999"})
	}
	_, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	signed, err := licfile.Generate(spec, licfile.Ed25519Signer{ID: strings.Repeat("k", 64), Key: key})
	require.NoError(t, err)
	long := strings.Repeat("x", validate.DefaultMaxLen)
	event := &eventspb.FulfillmentCreated{
		FulfillmentId: long, ActivationId: long, AccountId: long, HostId: long, UserId: long, Quantity: 999_999_999_999,
		LicenseText: signed.Text, ShipToEmails: strs(nEmails, long),
	}
	size := proto.Size(event)
	t.Logf("%d features, %d hosts: license %d bytes, event %d bytes", nFeatures, nHosts, len(signed.Text), size)
	assert.Less(t, size, 3<<20/4, "the largest license event must stay under 768 KiB, well under the broker's 1 MiB")
}
