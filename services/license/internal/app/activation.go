package app

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/duration"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/quantity"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// HostGroup is the hosts one license is for (SPEC LIC-2). Host, used by the
// single-host shortcut only, goes to Servers or Nodes by the license model.
type HostGroup struct {
	Servers, Nodes []string
	Host           string
}

// HostCount is what one line item gives one host group.
type HostCount struct {
	Group            int
	Count, Overdraft int64
}

// ActivationLine is one line item of a batch; no counts means every group with its
// default count.
type ActivationLine struct {
	ActivationID string
	Counts       []HostCount
}

// FulfilAttributes are set at activation (SPEC LIC-1); nil and empty values take the
// license model's defaults.
type FulfilAttributes struct {
	StartTime, VersionDate                   *time.Time
	ShipToEmails                             []string
	ShipToAddress                            string
	Consolidate                              *bool
	TerminalServer, FlexIDSharing, UseServer *bool
	TimeZone, VMPlatforms, Counting          string
	Issuer, SerialNumber, VendorString       string
	Notice                                   string
	BorrowHours                              *int32
	Platforms                                []string
}

// BatchActivation is a request to activate line items for hosts, all or nothing.
type BatchActivation struct {
	Lines        []ActivationLine
	Hosts        []HostGroup
	Attrs        FulfilAttributes
	ValidateOnly bool
	RequestID    string
}

// ActivationResult is what an activation made, or would make.
type ActivationResult struct {
	Fulfillments []Fulfillment
	Consolidated []ConsolidatedLicense
	ValidateOnly bool
}

// Batch limits.
const (
	maxActivationLines = 100
	maxHostGroups      = 50
)

// counted models need a license server and carry a seat count.
var counted = map[string]bool{"floating_counted": true, "nodelocked_counted": true, "trusted_server": true}

var (
	vmPlatforms = []string{"", "any", "physical_only", "vm_only"}
	serialRe    = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,64}$`)
	platformRe  = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)
)

// checkShape validates the request without reading anything.
func (in *BatchActivation) checkShape() error {
	var v errs.Violations
	if len(in.Lines) == 0 || len(in.Lines) > maxActivationLines {
		v.Add("lines", "give 1-%d line items", maxActivationLines)
	}
	if len(in.Hosts) == 0 || len(in.Hosts) > maxHostGroups {
		v.Add("hosts", "give 1-%d host groups", maxHostGroups)
	}
	for i, h := range in.Hosts {
		if h.Host == "" && len(h.Servers) == 0 && len(h.Nodes) == 0 {
			v.Add(fmt.Sprintf("hosts[%d]", i), "names no host")
		}
		if len(h.Servers) > 3 || len(h.Nodes) > 64 {
			v.Add(fmt.Sprintf("hosts[%d]", i), "at most 3 servers (a triad) and 64 node-locked hosts")
		}
	}
	seen := map[string]bool{}
	for i, l := range in.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		if l.ActivationID == "" {
			v.Add(field+".line_item", "is required")
		} else if seen[l.ActivationID] {
			v.Add(field+".line_item", "appears twice")
		}
		seen[l.ActivationID] = true
		groups := map[int]bool{}
		for j, c := range l.Counts {
			cf := fmt.Sprintf("%s.counts[%d]", field, j)
			if c.Group < 0 || c.Group >= len(in.Hosts) {
				v.Add(cf+".host", "is not an index into hosts")
			} else if groups[c.Group] {
				v.Add(cf+".host", "appears twice for this line item")
			}
			groups[c.Group] = true
			quantity.Check(&v, cf+".count", c.Count, 0) // 0: the default
			quantity.Check(&v, cf+".overdraft", c.Overdraft, 0)
			if c.Count <= quantity.Max && c.Overdraft <= quantity.Max && c.Count+c.Overdraft > quantity.Max { // one fulfillment, one reservation
				v.Add(cf+".count", "count and overdraft together must be at most %d", quantity.Max)
			}
		}
	}
	in.Attrs.check(&v)
	if len(in.RequestID) > 128 {
		v.Add("request_id", "must be at most 128 characters")
	}
	return v.Err()
}

// check validates fulfil-time attributes.
func (a FulfilAttributes) check(v *errs.Violations) {
	for i, e := range a.ShipToEmails {
		if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e {
			v.Add(fmt.Sprintf("attributes.ship_to_emails[%d]", i), "is not an email address")
		}
	}
	if len(a.ShipToEmails) > 20 {
		v.Add("attributes.ship_to_emails", "at most 20 addresses")
	}
	if a.TimeZone != "" {
		if _, err := time.LoadLocation(a.TimeZone); err != nil {
			v.Add("attributes.time_zone", "is not an IANA time zone like Europe/Berlin")
		}
	}
	if !slices.Contains(vmPlatforms, a.VMPlatforms) {
		v.Add("attributes.vm_platforms", "must be any, physical_only or vm_only")
	}
	if a.Counting != "" && a.Counting != "user" && a.Counting != "host" {
		v.Add("attributes.counting", "must be user or host")
	}
	if a.BorrowHours != nil && (*a.BorrowHours < 0 || *a.BorrowHours > 8760) {
		v.Add("attributes.borrow_hours", "must be 0-8760")
	}
	for field, text := range map[string]string{"issuer": a.Issuer, "vendor_string": a.VendorString, "notice": a.Notice, "ship_to_address": a.ShipToAddress} {
		if len(text) > 1024 || strings.ContainsAny(text, "\"\\\n\r") {
			v.Add("attributes."+field, "at most 1024 characters, without quotes, backslashes or line breaks")
		}
	}
	if a.SerialNumber != "" && !serialRe.MatchString(a.SerialNumber) {
		v.Add("attributes.serial_number", "1-64 letters, digits or . _ - /")
	}
	for i, p := range a.Platforms {
		if !platformRe.MatchString(p) {
			v.Add(fmt.Sprintf("attributes.platforms[%d]", i), "1-32 letters, digits or _")
		}
	}
}

// batchItem is one line item of a batch with what was read about it.
type batchItem struct {
	line    ActivationLine
	li      LineItem
	product Product
}

// ActivateBatch activates line items of one account for host groups, all or nothing
// (SPEC LIC-1, LIC-2, LIC-4): one fulfillment per line item and host group it gives
// seats to, a consolidated license per server host several share (LIC-6), seats held
// through the reservation protocol. ValidateOnly runs the same checks and signs,
// stores and takes nothing. A retry with the request ID returns the first result.
func (a *App) ActivateBatch(ctx context.Context, in BatchActivation) (ActivationResult, error) {
	if err := in.checkShape(); err != nil {
		return ActivationResult{}, err
	}
	p, _ := authz.FromContext(ctx)
	tenant := p.GetTenantId()
	// A replay is recognised before any check of the line items: the first result
	// comes back whatever seats are left or whatever happened to the line item since
	// (PLT-6), e.g. after a crash lost the first answer.
	if in.RequestID == "" {
		in.RequestID = ids.New("REQ", 4)
	} else if !in.ValidateOnly {
		if res, done, err := a.replayedActivation(ctx, in); done || err != nil {
			return res, err
		}
	}

	items, err := a.readBatch(ctx, in.Lines)
	if err != nil {
		return ActivationResult{}, err
	}
	model := items[0].li
	groups, err := a.placeHosts(ctx, model, in.Hosts)
	if err != nil {
		return ActivationResult{}, err
	}
	start, err := termStart(items, in.Attrs.StartTime, a.now())
	if err != nil {
		return ActivationResult{}, err
	}
	var fs []Fulfillment
	for i, it := range items {
		made, err := a.plan(ctx, it, i, groups, in, start)
		if err != nil {
			return ActivationResult{}, err
		}
		fs = append(fs, made...)
	}
	if in.ValidateOnly {
		return ActivationResult{Fulfillments: fs, ValidateOnly: true}, nil
	}

	key, err := a.store.ActiveKey(ctx, tenant)
	if err != nil {
		return ActivationResult{}, err
	}
	products := map[string]Product{}
	for _, it := range items {
		products[it.product.ID] = it.product
	}
	for i := range fs {
		if err := a.sign(ctx, &fs[i], key, tenant, products); err != nil {
			return ActivationResult{}, err
		}
	}
	var cls []ConsolidatedLicense
	if in.Attrs.Consolidate == nil || *in.Attrs.Consolidate {
		if cls, err = consolidate(fs, key, tenant, a.now()); err != nil {
			return ActivationResult{}, err
		}
	}
	return a.commit(ctx, tenant, in.RequestID, fs, cls, in.Attrs.ShipToEmails)
}

// replayedActivation returns the first result of an activation request ID already
// stored. The request must name the same line items, and its fulfillments must be
// ones the caller may see; otherwise the request ID belongs to another request.
func (a *App) replayedActivation(ctx context.Context, in BatchActivation) (ActivationResult, bool, error) {
	p, _ := authz.FromContext(ctx)
	fs, cls, err := a.store.FulfillmentsByRequest(ctx, p.GetTenantId(), in.RequestID)
	if errs.IsKind(err, errs.KindNotFound) {
		return ActivationResult{}, false, nil
	}
	if err != nil {
		return ActivationResult{}, false, err
	}
	asked := map[string]bool{}
	for _, l := range in.Lines {
		asked[l.ActivationID] = true
	}
	got := map[string]bool{}
	for _, f := range fs {
		ref := authz.LineItemRef{AccountID: f.AccountID, EntitlementID: f.EntitlementID, ActivationID: f.ActivationID, ProductLineID: f.ProductLineID}
		if !authz.CanSeeLineItem(p, ref) || !asked[f.ActivationID] {
			return ActivationResult{}, false, errRequestReused()
		}
		got[f.ActivationID] = true
	}
	if len(got) != len(asked) {
		return ActivationResult{}, false, errRequestReused()
	}
	return ActivationResult{Fulfillments: fs, Consolidated: cls}, true, nil
}

// errRequestReused refuses a request ID that another request used first.
func errRequestReused() error {
	return errs.Invalid("request_id", "was used before for another request")
}

// readBatch reads the line items and their products and applies the batch rules:
// one account, one license model (or one custom technology), certificate licensing.
func (a *App) readBatch(ctx context.Context, lines []ActivationLine) ([]batchItem, error) {
	p, _ := authz.FromContext(ctx)
	items := make([]batchItem, len(lines))
	for i, l := range lines {
		field := fmt.Sprintf("lines[%d].line_item", i)
		li, err := a.ent.LineItem(ctx, l.ActivationID)
		if err != nil {
			return nil, err
		}
		if !authz.CanSeeLineItem(p, li.ref()) {
			return nil, errs.NotFound("line item", l.ActivationID)
		}
		if err := activatable(li); err != nil {
			return nil, err
		}
		product, err := a.ent.Product(ctx, li.ProductID)
		if err != nil {
			return nil, err
		}
		switch product.Technology {
		case TechTrustedStorage:
			return nil, errs.FailedPrecondition("TRUSTED_STORAGE", "product %s uses trusted storage, which activates from a request file, not here", li.ProductID)
		case TechEmbedded:
			return nil, errs.FailedPrecondition("EMBEDDED_TECHNOLOGY", "product %s is licensed to devices; map it to a device instead", li.ProductID)
		}
		if len(product.Features) == 0 {
			return nil, errs.FailedPrecondition("PRODUCT_HAS_NO_FEATURES", "product %s has no features to license", li.ProductID)
		}
		if first := items[0]; i > 0 {
			switch {
			case li.AccountID != first.li.AccountID:
				return nil, errs.Invalid(field, "belongs to account %s; a batch activates line items of one account (%s)", li.AccountID, first.li.AccountID)
			case product.Technology != first.product.Technology:
				return nil, errs.Invalid(field, "uses %s licensing; the batch uses %s", product.Technology, first.product.Technology)
			case product.Technology == TechCertificate && li.ModelID != first.li.ModelID:
				return nil, errs.Invalid(field, "uses license model %s; a batch shares one license model (%s)", li.ModelID, first.li.ModelID)
			}
		}
		items[i] = batchItem{line: l, li: li, product: product}
	}
	return items, nil
}

// activatable refuses line items that cannot give seats, in words a customer
// understands (SPEC LIC-13).
func activatable(li LineItem) error {
	switch {
	case li.Cancelled || li.Quantity == 0:
		return errs.FailedPrecondition("LINE_ITEM_CANCELLED", "line item %s has quantity 0: its order was cancelled or refunded", li.ActivationID)
	case !li.Deployed:
		return errs.FailedPrecondition("LINE_ITEM_NOT_DEPLOYED", "line item %s is not deployed and cannot be activated", li.ActivationID)
	case li.ExpireTime != nil && li.ExpireTime.Before(time.Now()):
		return errs.FailedPrecondition("LINE_ITEM_EXPIRED", "line item %s expired on %s", li.ActivationID, li.ExpireTime.Format("2006-01-02"))
	}
	return nil
}

// placedGroup is a host group with parsed host IDs.
type placedGroup struct {
	Servers, Nodes []licfile.HostID
}

func (g placedGroup) strings() (servers, nodes []string) {
	for _, h := range g.Servers {
		servers = append(servers, h.String())
	}
	for _, h := range g.Nodes {
		nodes = append(nodes, h.String())
	}
	return servers, nodes
}

// placeHosts parses every host under the model's rules: counted models need one
// server or a triad, node-locked counted ones client hosts too, uncounted ones client
// hosts only (SPEC LIC-2).
func (a *App) placeHosts(ctx context.Context, model LineItem, groups []HostGroup) ([]placedGroup, error) {
	out := make([]placedGroup, len(groups))
	isCounted := counted[model.ModelType]
	for i, g := range groups {
		field := fmt.Sprintf("hosts[%d]", i)
		if g.Host != "" {
			if isCounted {
				g.Servers = []string{g.Host}
			} else {
				g.Nodes = []string{g.Host}
			}
		}
		switch {
		case isCounted && len(g.Servers) != 1 && len(g.Servers) != 3:
			return nil, errs.Invalid(field+".server_host_ids", "license model %s is served: give one server host, or three for a redundant triad", model.ModelID)
		case !isCounted && len(g.Servers) > 0:
			return nil, errs.Invalid(field+".server_host_ids", "license model %s is uncounted and node-locked: give node-locked hosts only", model.ModelID)
		case model.ModelType == "nodelocked_counted" && len(g.Nodes) == 0:
			return nil, errs.Invalid(field+".nodelocked_host_ids", "license model %s is node-locked: name the client hosts of the server", model.ModelID)
		case model.ModelType != "nodelocked_counted" && isCounted && len(g.Nodes) > 0:
			return nil, errs.Invalid(field+".nodelocked_host_ids", "license model %s floats: node-locked hosts do not apply", model.ModelID)
		case !isCounted && len(g.Nodes) == 0:
			return nil, errs.Invalid(field+".nodelocked_host_ids", "name at least one node-locked host")
		}
		server, node := licfile.RoleServer, licfile.RoleNodelocked
		for j, s := range g.Servers {
			h, err := a.parseHost(ctx, fmt.Sprintf("%s.server_host_ids[%d]", field, j), s, &server, model.AllowedHostKinds)
			if err != nil {
				return nil, err
			}
			out[i].Servers = append(out[i].Servers, h)
		}
		if len(out[i].Servers) == 3 {
			if err := licfile.CheckTriad(out[i].Servers); err != nil {
				return nil, hostIDInvalid(field+".server_host_ids", err)
			}
		}
		for j, n := range g.Nodes {
			h, err := a.parseHost(ctx, fmt.Sprintf("%s.nodelocked_host_ids[%d]", field, j), n, &node, model.AllowedHostKinds)
			if err != nil {
				return nil, err
			}
			out[i].Nodes = append(out[i].Nodes, h)
		}
	}
	return out, nil
}

// termStart is the start date licenses of line items without one carry: the chosen
// or current time, which the first activation writes back (SPEC LIC-1). Line items
// that have a start keep it, also while it is ahead: activations before it are
// allowed and their licenses start then. Choosing the same date again is fine;
// choosing another is refused.
func termStart(items []batchItem, chosen *time.Time, now time.Time) (time.Time, error) {
	for _, it := range items {
		if it.li.StartTime != nil && chosen != nil && licfile.Date(*it.li.StartTime) != licfile.Date(*chosen) {
			return time.Time{}, errs.InvalidReason("START_DATE_FIXED", "attributes.start_time", "line item %s starts on %s; its start date is fixed",
				it.li.ActivationID, it.li.StartTime.UTC().Format("2006-01-02"))
		}
	}
	if chosen != nil {
		if chosen.After(now.AddDate(1, 0, 0)) || chosen.Before(now.AddDate(-10, 0, 0)) {
			return time.Time{}, errs.Invalid("attributes.start_time", "must be within ten years back and one year ahead")
		}
		return *chosen, nil
	}
	return now, nil
}

// plan makes the fulfillments of one line item: one per host group it gives seats
// to, with its counts checked against what the line item has (SPEC LIC-4).
func (a *App) plan(ctx context.Context, it batchItem, index int, groups []placedGroup, in BatchActivation, start time.Time) ([]Fulfillment, error) {
	li := it.li
	if li.StartTime != nil {
		start = *li.StartTime // written back by an earlier activation: fixed
	}
	counts := it.line.Counts
	if len(counts) == 0 {
		for g := range groups {
			counts = append(counts, HostCount{Group: g})
		}
	}
	isCounted := counted[li.ModelType]
	var total int64
	var out []Fulfillment
	for j, c := range counts {
		field := fmt.Sprintf("lines[%d].counts[%d]", index, j)
		g := groups[c.Group]
		switch {
		case !isCounted && c.Count != 0 && c.Count != int64(len(g.Nodes)):
			return nil, errs.Invalid(field+".count", "an uncounted license takes one seat per node-locked host: %d here", len(g.Nodes))
		case !isCounted && c.Overdraft > 0:
			return nil, errs.Invalid(field+".overdraft", "uncounted licenses have no overdraft")
		case c.Overdraft > 0 && !li.OverdraftAllowed:
			return nil, errs.Invalid(field+".overdraft", "license model %s allows no overdraft", li.ModelID)
		}
		count := c.Count
		if !isCounted {
			count = int64(len(g.Nodes))
		} else if count == 0 {
			count = 1
		}
		total += count + c.Overdraft
		servers, nodes := g.strings()
		f := Fulfillment{
			ID: ids.New("FUL", 3), ActivationID: li.ActivationID, AccountID: li.AccountID, EntitlementID: li.EntitlementID, ProductLineID: li.ProductLineID,
			ServerHostIDs: servers, NodeHostIDs: nodes, Quantity: count + c.Overdraft, Overdraft: c.Overdraft,
			State: StateActive, SupportType: SupportMaster, ProductID: li.ProductID, Version: it.product.Version,
			ModelType: li.ModelType, Technology: it.product.Technology, ExpireTime: li.ExpireTime,
			RequestID: in.RequestID, UserID: principalUser(ctx),
		}
		if len(servers) > 0 {
			f.HostID = servers[0]
		} else {
			f.HostID = nodes[0]
		}
		if li.StartTime == nil && li.StartAtFirstActivation && li.ExpireAfter != "" {
			f.ExpireTime = duration.TermEnd(li.ExpireAfter, start)
		}
		f.Attributes = licenseAttributes(li, in.Attrs, start, c.Overdraft)
		f.Start = start
		out = append(out, f)
	}
	if err := checkAvailable(li, total); err != nil {
		return nil, err
	}
	return out, nil
}

// checkAvailable refuses more seats than a line item has left (counts are checked
// at generation, SPEC LIC-4), with the numbers a customer needs (LIC-13).
func checkAvailable(li LineItem, requested int64) error {
	if requested <= li.Available || li.OverdraftAllowed {
		return nil
	}
	e := errs.FailedPrecondition("QUANTITY_EXCEEDED", "line item %s has %d seats available, %d requested", li.ActivationID, li.Available, requested)
	e.Metadata = map[string]string{"available": strconv.FormatInt(li.Available, 10), "requested": strconv.FormatInt(requested, 10)}
	return e
}

func principalUser(ctx context.Context) string {
	p, _ := authz.FromContext(ctx)
	return p.GetUserId()
}

// licenseAttributes are the keywords a fulfillment's license carries: the request's
// attributes, else the license model's defaults (SPEC LIC-1).
func licenseAttributes(li LineItem, a FulfilAttributes, start time.Time, overdraft int64) map[string]string {
	d := li.Defaults
	out := map[string]string{"START": licfile.Date(start)}
	text := func(name, value, def string) {
		if value == "" {
			value = def
		}
		if value != "" {
			out[name] = value
		}
	}
	flag := func(name string, value *bool, def bool) {
		if (value != nil && *value) || (value == nil && def) {
			out[name] = ""
		}
	}
	text("ISSUER", a.Issuer, d.Issuer)
	text("NOTICE", a.Notice, d.Notice)
	text("VENDOR_STRING", a.VendorString, d.VendorString)
	text("TZ", a.TimeZone, d.TimeZone)
	if a.SerialNumber != "" {
		out["SN"] = a.SerialNumber
	}
	platforms := a.Platforms
	if len(platforms) == 0 {
		platforms = d.Platforms
	}
	if len(platforms) > 0 {
		out["PLATFORMS"] = strings.Join(platforms, " ")
	}
	borrow := d.BorrowHours
	if a.BorrowHours != nil {
		borrow = *a.BorrowHours
	}
	if borrow > 0 {
		out["BORROW"] = strconv.Itoa(int(borrow))
	}
	flag("TS_OK", a.TerminalServer, d.TerminalServer)
	vm := a.VMPlatforms
	if vm == "" {
		vm = d.VMPlatforms
	}
	switch vm {
	case "vm_only":
		out["VM_ONLY"] = ""
	case "physical_only":
		out["PHYSICAL_ONLY"] = ""
	}
	switch a.Counting {
	case "user":
		out["USER_BASED"] = ""
	case "host":
		out["HOST_BASED"] = ""
	}
	if overdraft > 0 {
		out["OVERDRAFT"] = strconv.FormatInt(overdraft, 10)
	}
	flag("FLEXID_SHARED", a.FlexIDSharing, false)
	if a.VersionDate != nil {
		out["VERSION_DATE"] = licfile.Date(*a.VersionDate)
	}
	// Lower-case keys are the fulfillment's own records, never license keywords.
	if a.UseServer != nil && !*a.UseServer {
		out[attrNoUseServer] = "true" // counted licenses point to their server unless told not to
	}
	if a.ShipToAddress != "" {
		out[attrShipToAddress] = a.ShipToAddress
	}
	return out
}

// Fulfillment attributes that are records of the activation, not license keywords.
const (
	attrNoUseServer   = "no_use_server"
	attrShipToAddress = "ship_to_address"
)

// sign generates and signs the fulfillment's license in both forms; products holds
// the products already read (others are read).
func (a *App) sign(ctx context.Context, f *Fulfillment, key SigningKey, tenant string, products map[string]Product) error {
	product, ok := products[f.ProductID]
	if !ok {
		var err error
		if product, err = a.ent.Product(ctx, f.ProductID); err != nil {
			return err
		}
	}
	spec, err := a.spec(*f, product, tenant)
	if err != nil {
		return err
	}
	signed, err := licfile.Generate(spec, key.Signer)
	if err != nil {
		return err
	}
	f.KeyID, f.LicenseText, f.LicenseJSON = key.ID, signed.Text, string(signed.JSON)
	return nil
}

// spec is the license a fulfillment carries.
func (a *App) spec(f Fulfillment, product Product, tenant string) (licfile.Spec, error) {
	spec := licfile.Spec{
		Vendor: vendorName(tenant), Serial: f.ID, Issued: a.now(), Start: a.now(), Expiry: f.ExpireTime, Attrs: map[string]string{},
	}
	for k, v := range f.Attributes {
		switch k {
		case attrNoUseServer:
			spec.NoUseServer = true
		case attrShipToAddress:
		case "START":
			t, err := licfile.ParseDate(v)
			if err != nil {
				return licfile.Spec{}, err
			}
			spec.Start = t
		default:
			spec.Attrs[k] = v
		}
	}
	for _, s := range f.ServerHostIDs {
		h, err := licfile.ParseHostID(s, licfile.Rules{RelaxIP: true})
		if err != nil {
			return licfile.Spec{}, err
		}
		spec.Servers = append(spec.Servers, h)
	}
	for _, n := range f.NodeHostIDs {
		h, err := licfile.ParseHostID(n, licfile.Rules{RelaxIP: true})
		if err != nil {
			return licfile.Spec{}, err
		}
		spec.NodeHosts = append(spec.NodeHosts, h)
	}
	if counted[f.ModelType] {
		spec.Count = f.Count()
	}
	for _, ft := range product.Features {
		spec.Features = append(spec.Features, licfile.Feature{Name: ft.Name, Version: ft.Version})
	}
	return spec, nil
}

// commit takes the seats of every fulfillment, stores them all with their claims in
// one transaction, then confirms; any failure gives back every seat taken. Concurrent
// activations share that work through the group committer (group.go).
func (a *App) commit(ctx context.Context, tenant, requestID string, fs []Fulfillment, cls []ConsolidatedLicense, shipTo []string) (ActivationResult, error) {
	p, _ := authz.FromContext(ctx)
	// The ledger re-checks the owner when it takes the seats, so a line item moved to
	// another account meanwhile is not drawn on.
	var only []string
	switch {
	case p.GetKind() == commonpb.PrincipalKind_PRINCIPAL_KIND_ENTITLEMENT_KEY:
		only = []string{fs[0].AccountID}
	case !p.GetTenantWide():
		only = p.GetAccountIds()
	}
	// Once the committer has taken it, the activation is finished even if its caller
	// gives up: a retry with the request ID then finds the result.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), groupTimeout)
	defer cancel()
	u := &pendingActivation{ctx: uctx, tenant: tenant, requestID: requestID, fs: withShipTo(fs, shipTo), cls: cls, done: make(chan struct{})}
	for i := range fs {
		f := &fs[i]
		f.ClaimID = ids.FromKey(tenant, "license", requestID+"/"+strconv.Itoa(i))
		u.claims = append(u.claims, seats.Claim{ID: f.ClaimID, TenantID: tenant, ActivationID: f.ActivationID, Quantity: f.Quantity, AccountIDs: only, Start: f.Start})
	}
	a.submit(u)
	<-u.done
	return u.result, u.err
}

// withShipTo records the ship-to addresses the license emails go to.
func withShipTo(fs []Fulfillment, shipTo []string) []Fulfillment {
	if len(shipTo) == 0 {
		return fs
	}
	for i := range fs {
		fs[i].ShipTo = shipTo
	}
	return fs
}
