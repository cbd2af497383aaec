package gateway

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
)

// exporter lists one collection page by page for CSV export (SPEC PLT-3).
type exporter struct {
	file string
	item protoreflect.MessageDescriptor
	// columns, when set, are the fields exported, in order (the first names the item).
	columns []string
	// list reads one page for the export's query parameters.
	list func(ctx context.Context, q url.Values, pageToken string) ([]proto.Message, string, error)
}

func (g *Gateway) exporters() map[string]exporter {
	acc := accountpb.NewAccountServiceClient(g.conns["account"])
	org := accountpb.NewOrganizationServiceClient(g.conns["account"])
	ent := entitlementpb.NewEntitlementServiceClient(g.conns["entitlement"])
	cat := entitlementpb.NewCatalogServiceClient(g.conns["entitlement"])
	lic := licensepb.NewLicenseServiceClient(g.conns["license"])
	tokens := accountpb.NewAccessTokenServiceClient(g.conns["account"])
	accountAudit := accountpb.NewAuditServiceClient(g.conns["account"])
	entitlementAudit := entitlementpb.NewAuditServiceClient(g.conns["entitlement"])
	deviceAudit := devicepb.NewAuditServiceClient(g.conns["device"])
	dev := devicepb.NewDeviceServiceClient(g.conns["device"])
	auditColumns := []string{"name", "event_id", "time", "actor", "actor_service", "token_id", "impersonated", "impersonator", "subject", "event_type", "payload_json"}
	return map[string]exporter{
		// Reached as accounts/{account_id}/hosts:export; parent is set from the path.
		hostsCollection: {
			file: "Hosts.csv", item: (&licensepb.Host{}).ProtoReflect().Descriptor(),
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				r, err := lic.ListHosts(ctx, &licensepb.ListHostsRequest{
					Parent: q.Get("parent"), Filter: q.Get("filter"), OrderBy: q.Get("order_by"), PageToken: token, PageSize: 1000,
				})
				return messages(r.GetHosts()), r.GetNextPageToken(), err
			},
		},
		"consolidatedLicenses": {
			// The license files themselves stay out: they are fetched one by one.
			file: "ConsolidatedLicenses.csv", item: (&licensepb.ConsolidatedLicense{}).ProtoReflect().Descriptor(),
			columns: []string{
				"name", "consolidated_license_id", "server_host_ids", "account", "fulfillments", "license_technology", "create_time", "replaced_by", "retire_time",
			},
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				r, err := lic.ListConsolidatedLicenses(ctx, &licensepb.ListConsolidatedLicensesRequest{
					Filter: q.Get("filter"), OrderBy: q.Get("order_by"), PageToken: token, PageSize: 1000,
				})
				return messages(r.GetConsolidatedLicenses()), r.GetNextPageToken(), err
			},
		},
		"accessTokens": {
			// Token values are never stored, only hashes, and the listed message carries
			// neither; the columns are named so that a field added later is not exported
			// by accident.
			file: "AccessTokens.csv", item: (&accountpb.AccessToken{}).ProtoReflect().Descriptor(),
			columns: []string{
				"name", "token_id", "display_name", "description", "type", "created_by", "created_for", "expire_time", "expired", "create_time", "update_time",
			},
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				r, err := tokens.ListAccessTokens(ctx, &accountpb.ListAccessTokensRequest{Filter: q.Get("filter"), PageToken: token, PageSize: 1000})
				return messages(r.GetAccessTokens()), r.GetNextPageToken(), err
			},
		},
		"auditEvents": {
			file: "AuditEvents.csv", item: (&accountpb.AuditEvent{}).ProtoReflect().Descriptor(), columns: auditColumns,
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				r, err := accountAudit.ListAuditEvents(ctx, &accountpb.ListAuditEventsRequest{
					Filter: q.Get("filter"), OrderBy: q.Get("order_by"), PageToken: token, PageSize: 1000,
				})
				return messages(r.GetAuditEvents()), r.GetNextPageToken(), err
			},
		},
		"services/entitlement/auditEvents": {
			file: "EntitlementAuditEvents.csv", item: (&commonpb.AuditEvent{}).ProtoReflect().Descriptor(), columns: auditColumns,
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				r, err := entitlementAudit.ListAuditEvents(ctx, &commonpb.ListAuditEventsRequest{
					Filter: q.Get("filter"), OrderBy: q.Get("order_by"), PageToken: token, PageSize: 1000,
				})
				return messages(r.GetAuditEvents()), r.GetNextPageToken(), err
			},
		},
		"services/device/auditEvents": {
			file: "DeviceAuditEvents.csv", item: (&commonpb.AuditEvent{}).ProtoReflect().Descriptor(), columns: auditColumns,
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				r, err := deviceAudit.ListAuditEvents(ctx, &commonpb.ListAuditEventsRequest{
					Filter: q.Get("filter"), OrderBy: q.Get("order_by"), PageToken: token, PageSize: 1000,
				})
				return messages(r.GetAuditEvents()), r.GetNextPageToken(), err
			},
		},
		"fulfillments": {
			file: "SupportLicenses.csv", item: (&licensepb.Fulfillment{}).ProtoReflect().Descriptor(),
			columns: []string{
				"name", "support_type", "fulfillment_id", "line_item", "product", "version", "server_host_ids", "nodelocked_host_ids",
				"count", "overdraft", "state", "create_time", "expire_time", "account", "parent", "consolidated_license",
			},
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				filter, orderBy := q.Get("filter"), q.Get("order_by")
				r, err := lic.ListFulfillments(ctx, &licensepb.ListFulfillmentsRequest{Filter: filter, OrderBy: orderBy, PageToken: token, PageSize: 1000})
				return messages(r.GetFulfillments()), r.GetNextPageToken(), err
			},
		},
		"expiringLineItems": {
			file: "ExpiringEntitlements.csv", item: (&entitlementpb.ExpiringLineItem{}).ProtoReflect().Descriptor(),
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				days, _ := strconv.Atoi(q.Get("within_days"))
				r, err := ent.ListExpiringLineItems(ctx, &entitlementpb.ListExpiringLineItemsRequest{
					Expiring: q.Get("expiring") == "true", Expired: q.Get("expired") == "true",
					Subscription: q.Get("subscription") == "true", Maintenance: q.Get("maintenance") == "true",
					WithinDays: int32(min(days, 3650)), Search: q.Get("search"), OrderBy: q.Get("order_by"), //nolint:gosec // bounded
					PageToken: token, PageSize: 1000,
				})
				return messages(r.GetItems()), r.GetNextPageToken(), err
			},
		},
		"lineItems": {
			file: "LineItems.csv", item: (&entitlementpb.LineItem{}).ProtoReflect().Descriptor(),
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				filter, orderBy := q.Get("filter"), q.Get("order_by")
				r, err := ent.ListLineItems(ctx, &entitlementpb.ListLineItemsRequest{Filter: filter, OrderBy: orderBy, PageToken: token, PageSize: 1000})
				return messages(r.GetLineItems()), r.GetNextPageToken(), err
			},
		},
		"entitlements": {
			file: "Entitlements.csv", item: (&entitlementpb.Entitlement{}).ProtoReflect().Descriptor(),
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				filter, orderBy := q.Get("filter"), q.Get("order_by")
				r, err := ent.ListEntitlements(ctx, &entitlementpb.ListEntitlementsRequest{Filter: filter, OrderBy: orderBy, PageToken: token, PageSize: 1000})
				return messages(r.GetEntitlements()), r.GetNextPageToken(), err
			},
		},
		"devices": {
			// The columns are named: mapped line items (masked per caller) stay in the
			// device's own view, and a field added later is not exported by accident.
			file: "Devices.csv", item: (&devicepb.Device{}).ProtoReflect().Descriptor(),
			columns: []string{
				"name", "device_id", "display_name", "id_type", "host_id", "type", "status", "deployment", "account", "owner_display_name",
				"model", "series", "site_name", "device_user", "backup_server", "server", "publisher_identity", "create_time", "update_time",
			},
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				r, err := dev.ListDevices(ctx, &devicepb.ListDevicesRequest{
					Filter: q.Get("filter"), OrderBy: q.Get("order_by"), PageToken: token, PageSize: 1000,
					Type:   devicepb.DeviceType(devicepb.DeviceType_value[q.Get("type")]),
					Status: devicepb.DeviceStatus(devicepb.DeviceStatus_value[q.Get("status")]),
				})
				return messages(r.GetDevices()), r.GetNextPageToken(), err
			},
		},
		"products": {
			file: "Products.csv", item: (&entitlementpb.Product{}).ProtoReflect().Descriptor(),
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				filter, orderBy := q.Get("filter"), q.Get("order_by")
				r, err := cat.ListProducts(ctx, &entitlementpb.ListProductsRequest{Filter: filter, OrderBy: orderBy, PageToken: token, PageSize: 1000})
				return messages(r.GetProducts()), r.GetNextPageToken(), err
			},
		},
		"organizations": {
			file: "Organizations.csv", item: (&accountpb.Organization{}).ProtoReflect().Descriptor(),
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				filter, orderBy := q.Get("filter"), q.Get("order_by")
				r, err := org.ListOrganizations(ctx, &accountpb.ListOrganizationsRequest{Filter: filter, OrderBy: orderBy, PageToken: token, PageSize: 1000})
				return messages(r.GetOrganizations()), r.GetNextPageToken(), err
			},
		},
		"accounts": {
			file: "Accounts.csv", item: (&accountpb.Account{}).ProtoReflect().Descriptor(),
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				filter, orderBy := q.Get("filter"), q.Get("order_by")
				r, err := acc.ListAccounts(ctx, &accountpb.ListAccountsRequest{Filter: filter, OrderBy: orderBy, PageToken: token, PageSize: 1000})
				return messages(r.GetAccounts()), r.GetNextPageToken(), err
			},
		},
		"users": {
			file: "Users.csv", item: (&accountpb.User{}).ProtoReflect().Descriptor(),
			list: func(ctx context.Context, q url.Values, token string) ([]proto.Message, string, error) {
				filter, orderBy := q.Get("filter"), q.Get("order_by")
				r, err := acc.ListUsers(ctx, &accountpb.ListUsersRequest{Filter: filter, OrderBy: orderBy, PageToken: token, PageSize: 1000})
				return messages(r.GetUsers()), r.GetNextPageToken(), err
			},
		},
	}
}

// hostsCollection keys the per-account hosts export (accounts/{account_id}/hosts).
const hostsCollection = "accounts/*/hosts"

func messages[T proto.Message](list []T) []proto.Message {
	out := make([]proto.Message, len(list))
	for i, m := range list {
		out[i] = m
	}
	return out
}

// export serves GET /v1/{collection}:export?filter=&order_by=&names=: every item
// matching the query (or only the named ones) as CSV with a header row, even when
// nothing matches.
func (g *Gateway) export(w http.ResponseWriter, r *http.Request) {
	collection := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/"), ":export")
	key, parent := collection, ""
	if account, ok := strings.CutSuffix(collection, "/hosts"); ok && strings.Count(account, "/") == 1 && strings.HasPrefix(account, "accounts/") {
		key, parent = hostsCollection, account
	}
	ex, ok := g.exporters()[key]
	if parent != "" {
		q := r.URL.Query()
		q.Set("parent", parent)
		r.URL.RawQuery = q.Encode()
	}
	if !ok || key == hostsCollection && parent == "" {
		writeStatus(w, status.New(codes.NotFound, collection+" cannot be exported"))
		return
	}
	g.serveExport(w, r, collection, ex)
}

// serveExport answers an export request with ex's CSV, or with an error and no CSV.
func (g *Gateway) serveExport(w http.ResponseWriter, r *http.Request, collection string, ex exporter) {
	ctx := r.Context()
	if signed, ok := ctx.Value(signedKey{}).(string); ok {
		ctx = authz.Outgoing(ctx, signed)
	}
	q := r.URL.Query()
	var selected map[string]bool
	if names := q.Get("names"); names != "" {
		selected = map[string]bool{}
		for _, n := range strings.Split(names, ",") {
			selected[strings.TrimSpace(n)] = true
		}
	}
	spool, err := os.CreateTemp("", "tessera-export-*.csv")
	if err != nil {
		g.log.ErrorContext(ctx, "export spool", "err", err)
		writeStatus(w, status.New(codes.Internal, "internal error"))
		return
	}
	defer func() { _ = spool.Close(); _ = os.Remove(spool.Name()) }()
	// Every page is written to the spool file before the response starts: a page
	// that fails midway (a revoked session, a refused page token, a service down)
	// then answers with its error instead of a 200 and a cut file. The spool keeps
	// memory flat however large the export.
	size, err := writeCSV(ctx, spool, ex, q, selected)
	if err != nil {
		g.log.WarnContext(ctx, "export failed", "collection", collection, "err", err)
		writeStatus(w, status.Convert(err))
		return
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		writeStatus(w, status.New(codes.Internal, "internal error"))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+ex.file+`"`)
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	if _, err := io.Copy(w, spool); err != nil {
		g.log.WarnContext(ctx, "export not delivered", "collection", collection, "err", err)
	}
}

// writeCSV writes the header and every page of the export to out and returns the
// bytes written; the first error (listing or writing) stops it.
func writeCSV(ctx context.Context, out io.Writer, ex exporter, q url.Values, selected map[string]bool) (int64, error) {
	counted := &countingWriter{w: out}
	cw := csv.NewWriter(counted)
	fields := ex.fields()
	header := make([]string, len(fields))
	for i, fd := range fields {
		header[i] = string(fd.Name())
	}
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	token := ""
	for {
		items, next, err := ex.list(ctx, q, token)
		if err != nil {
			return 0, err
		}
		for _, m := range items {
			row := csvRow(m.ProtoReflect(), fields)
			if selected == nil || selected[row[0]] {
				if err := cw.Write(row); err != nil {
					return 0, err
				}
			}
		}
		if next == "" {
			break
		}
		token = next
	}
	cw.Flush()
	return counted.n, cw.Error()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// fields are the exported columns: the chosen ones, else every field.
func (ex exporter) fields() []protoreflect.FieldDescriptor {
	all := ex.item.Fields()
	var out []protoreflect.FieldDescriptor
	if ex.columns == nil {
		for i := range all.Len() {
			out = append(out, all.Get(i))
		}
		return out
	}
	for _, c := range ex.columns {
		out = append(out, all.ByName(protoreflect.Name(c)))
	}
	return out
}

// csvRow renders one message as cells: scalars as text, enums by name, times in
// RFC 3339, messages, maps and lists as JSON.
func csvRow(m protoreflect.Message, fields []protoreflect.FieldDescriptor) []string {
	row := make([]string, len(fields))
	for i, fd := range fields {
		if !m.Has(fd) {
			continue
		}
		v := m.Get(fd)
		switch {
		case fd.IsList() || fd.IsMap():
			row[i] = jsonOf(v.Interface())
		case fd.Kind() == protoreflect.EnumKind:
			row[i] = string(fd.Enum().Values().ByNumber(v.Enum()).Name())
		case fd.Kind() == protoreflect.MessageKind:
			if ts, ok := v.Message().Interface().(*timestamppb.Timestamp); ok {
				row[i] = ts.AsTime().UTC().Format(time.RFC3339)
			} else {
				row[i] = jsonOf(v.Message().Interface())
			}
		default:
			row[i] = v.String()
		}
		row[i] = defuse(row[i])
	}
	return row
}

func jsonOf(v any) string {
	switch x := v.(type) {
	case protoreflect.List:
		parts := make([]any, x.Len())
		for i := range x.Len() {
			parts[i] = x.Get(i).Interface()
			if pm, ok := parts[i].(protoreflect.Message); ok {
				parts[i] = pm.Interface()
			}
		}
		v = parts
	case protoreflect.Map:
		out := map[string]any{}
		x.Range(func(k protoreflect.MapKey, val protoreflect.Value) bool {
			out[k.String()] = val.Interface()
			return true
		})
		v = out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// defuse keeps spreadsheet programs from running a cell as a formula.
func defuse(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
