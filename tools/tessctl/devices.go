package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const devicesUsage = `devices list [-filter F] [-type T] [-status S] [-order-by O]
devices create -id-type T -host-id H -name N [-id ID] [-account A] [-server] [-cloud -site S]
devices get ID
devices map ID -line-item ACTIVATION_ID:QTY[:EXPIRY] ... [-by-activation-id] [-validate-only]
devices unmap ID -line-item ACTIVATION_ID -quantity N
devices return ID [-to DEVICE_ID] [-rma RMA]
devices move ID -to-account ACCOUNT [-pool]
devices history ID
devices preview ID (the first ten features the device's line items give it)
devices import FILE (.csv, or .json: a list of devices)
devices export [-filter F] > Devices.csv`

// devicesCmd covers the device workflows (SPEC section 4) over REST. Flags may come
// before or after the device ID. The commands that change seats send a request ID,
// so running one again with -request-id does not take or give back seats twice.
func devicesCmd(args []string, out io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("devices needs a subcommand first:\n%s", devicesUsage)
	}
	verb, args := args[0], args[1:]
	fs := flag.NewFlagSet("tessctl devices "+verb, flag.ContinueOnError)
	gw, token := gatewayFlag(fs), tokenFlag(fs)
	base := func() string { return *gw + "/v1/" }
	requestID := fs.String("request-id", "", "request ID (default: a new one, printed to stderr); run again with it to retry without doing it twice")
	retryable := func(body map[string]any) map[string]any { return withRequestID(requestID, body) }
	// device parses the flags and the one device ID they surround.
	device := func(form string) (string, error) {
		pos, err := parseInterspersed(fs, args)
		if err != nil {
			return "", err
		}
		if len(pos) != 1 || pos[0] == "" {
			return "", fmt.Errorf("usage: tessctl %s", form)
		}
		return url.PathEscape(strings.TrimPrefix(pos[0], "devices/")), nil
	}
	switch verb {
	case "list", "export":
		filter := fs.String("filter", "", `AIP-160 filter, e.g. display_name = "edge*" or account = "accounts/ACME"`)
		orderBy := fs.String("order-by", "", `sort order, e.g. "create_time desc"`)
		typ, status, pageSize, pageToken := new(string), new(string), new(int), new(string)
		if verb == "list" {
			typ = fs.String("type", "", "standalone (or client), server or served_client")
			status = fs.String("status", "", "active, returned, obsolete, normal, served_returned, dropped or expired")
			pageSize = fs.Int("page-size", 0, "devices per page (0: the server's default)")
			pageToken = fs.String("page-token", "", "the next_page_token of the page before")
		}
		pos, err := parseInterspersed(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 0 {
			return fmt.Errorf("devices %s takes no arguments, only flags", verb)
		}
		q := url.Values{}
		set := func(k, v string) {
			if v != "" {
				q.Set(k, v)
			}
		}
		set("filter", *filter)
		set("order_by", *orderBy)
		if verb == "export" {
			raw, err := send("GET", base()+"devices:export"+query(q), *token, nil)
			if err != nil {
				return err
			}
			_, err = out.Write(raw)
			return err
		}
		t, err := enumValue("DEVICE_TYPE_", *typ, deviceTypes, "-type")
		if err != nil {
			return err
		}
		s, err := enumValue("DEVICE_STATUS_", *status, deviceStatuses, "-status")
		if err != nil {
			return err
		}
		set("type", t)
		set("status", s)
		if *pageSize > 0 {
			q.Set("page_size", strconv.Itoa(*pageSize))
		}
		set("page_token", *pageToken)
		return printCall(out, "GET", base()+"devices"+query(q), *token, nil)

	case "create":
		id := fs.String("id", "", "device ID, the resource key (default: generated)")
		idType := fs.String("id-type", "", "ETHER, INTERNET, INTERNET6, FLEXID9, FLEXID10, STRING, USER, VM_UUID, TOLERANT, EXTENDED, CONTAINER_ID or a publisher-defined type")
		hostID := fs.String("host-id", "", "the device's identifier of that type (a MAC address, a UUID, …)")
		name := fs.String("name", "", "display name")
		account := fs.String("account", "", "owner account ID")
		server := fs.Bool("server", false, "a license server instead of a standalone device")
		cloud := fs.Bool("cloud", false, "a cloud license server: its host ID is generated, -site is required")
		site := fs.String("site", "", "site name")
		model := fs.String("model", "", "model")
		series := fs.String("series", "", "series")
		pos, err := parseInterspersed(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 0 {
			return errors.New("devices create takes only flags: " + strings.SplitN(devicesUsage, "\n", 3)[1])
		}
		if *cloud && *site == "" {
			return errors.New("devices create -cloud needs -site: a cloud server is known by its site")
		}
		if *cloud && *hostID != "" {
			return errors.New("devices create -cloud: a cloud server's host ID is generated; leave -host-id out")
		}
		d := map[string]any{"display_name": *name, "type": "DEVICE_TYPE_STANDALONE"}
		if *server || *cloud {
			d["type"] = "DEVICE_TYPE_SERVER"
		}
		if *cloud {
			d["deployment"] = "DEPLOYMENT_CLOUD"
		}
		for k, v := range map[string]string{"id_type": *idType, "host_id": *hostID, "site_name": *site, "model": *model, "series": *series} {
			if v != "" {
				d[k] = v
			}
		}
		if *account != "" {
			d["account"] = "accounts/" + strings.TrimPrefix(*account, "accounts/")
		}
		body := map[string]any{"device": d}
		if *id != "" {
			body["device_id"] = *id
		}
		return printCall(out, "POST", base()+"devices", *token, retryable(body))

	case "get", "history", "preview":
		pageSize := fs.Int("page-size", 0, "entries per page (history)")
		pageToken := fs.String("page-token", "", "the next_page_token of the page before (history)")
		id, err := device("devices " + verb + " ID")
		if err != nil {
			return err
		}
		switch verb {
		case "get":
			return printCall(out, "GET", base()+"devices/"+id, *token, nil)
		case "preview":
			return printCall(out, "GET", base()+"devices/"+id+"/licensePreview", *token, nil)
		}
		q := url.Values{}
		if *pageSize > 0 {
			q.Set("page_size", strconv.Itoa(*pageSize))
		}
		if *pageToken != "" {
			q.Set("page_token", *pageToken)
		}
		return printCall(out, "GET", base()+"devices/"+id+"/history"+query(q), *token, nil)

	case "map":
		var specs stringList
		fs.Var(&specs, "line-item", "ACTIVATION_ID:QTY[:EXPIRY] (repeat for more); EXPIRY, an override earlier than the line item's, is RFC 3339 or YYYY-MM-DD (00:00 UTC)")
		byActivation := fs.Bool("by-activation-id", false, "name the line items by activation ID alone (as a channel partner must)")
		validateOnly := fs.Bool("validate-only", false, "run every check, take nothing")
		id, err := device("devices map ID -line-item ACTIVATION_ID:QTY[:EXPIRY] ...")
		if err != nil {
			return err
		}
		if len(specs) == 0 {
			return errors.New("devices map needs at least one -line-item ACTIVATION_ID:QTY[:EXPIRY]")
		}
		items := make([]lineItemSpec, len(specs))
		for i, s := range specs {
			if items[i], err = parseLineItemSpec(s); err != nil {
				return fmt.Errorf("-line-item %q: %w", s, err)
			}
		}
		if len(items) == 1 && items[0].Expiry.IsZero() && !*byActivation && !*validateOnly {
			// The short form for one line item.
			return printCall(out, "POST", base()+"devices/"+id+":mapLineItem", *token,
				retryable(map[string]any{"line_item": "lineItems/" + items[0].ActivationID, "quantity": items[0].Quantity}))
		}
		list := make([]map[string]any, len(items))
		for i, it := range items {
			m := map[string]any{"quantity": it.Quantity}
			if *byActivation {
				m["activation_id"] = it.ActivationID
			} else {
				m["line_item"] = "lineItems/" + it.ActivationID
			}
			if !it.Expiry.IsZero() {
				m["expire_time"] = it.Expiry.Format(time.RFC3339Nano)
			}
			list[i] = m
		}
		body := map[string]any{"items": list}
		if *validateOnly {
			body["validate_only"] = true
		}
		return printCall(out, "POST", base()+"devices/"+id+":mapLineItems", *token, retryable(body))

	case "unmap":
		lineItem := fs.String("line-item", "", "activation ID of the line item to give seats back to")
		quantity := fs.Int64("quantity", 0, "seats to give back")
		id, err := device("devices unmap ID -line-item ACTIVATION_ID -quantity N")
		if err != nil {
			return err
		}
		if *lineItem == "" || *quantity <= 0 {
			return errors.New("devices unmap needs -line-item ACTIVATION_ID and -quantity N (at least 1)")
		}
		return printCall(out, "POST", base()+"devices/"+id+":unmapLineItem", *token,
			retryable(map[string]any{"line_item": "lineItems/" + strings.TrimPrefix(*lineItem, "lineItems/"), "quantity": *quantity}))

	case "return":
		to := fs.String("to", "", "device ID that receives the returned device's seats (default: they go back to their line items)")
		rma := fs.String("rma", "", "RMA number")
		id, err := device("devices return ID [-to DEVICE_ID] [-rma RMA]")
		if err != nil {
			return err
		}
		body := map[string]any{}
		if *to != "" {
			body["destination_device"] = "devices/" + strings.TrimPrefix(*to, "devices/")
		}
		if *rma != "" {
			body["rma_number"] = *rma
		}
		return printCall(out, "POST", base()+"devices/"+id+":return", *token, retryable(body))

	case "move":
		toAccount := fs.String("to-account", "", "the related account that takes the device")
		pool := fs.Bool("pool", false, "pool the seats into a matching line item of the target account")
		id, err := device("devices move ID -to-account ACCOUNT [-pool]")
		if err != nil {
			return err
		}
		if *toAccount == "" {
			return errors.New("devices move needs -to-account ACCOUNT")
		}
		body := map[string]any{"to_account": "accounts/" + strings.TrimPrefix(*toAccount, "accounts/")}
		if *pool {
			body["pool"] = true
		}
		return printCall(out, "POST", base()+"devices/"+id+":move", *token, retryable(body))

	case "import":
		pos, err := parseInterspersed(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return errors.New("usage: tessctl devices import FILE (.csv, or .json: a list of devices)")
		}
		body, err := importBody(pos[0])
		if err != nil {
			return err
		}
		var resp map[string]any
		if err := call("POST", base()+"devices:import", *token, body, &resp); err != nil {
			return err
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(resp); err != nil {
			return err
		}
		// Good rows are stored either way; a script still learns that some were not.
		if refused, _ := resp["errors"].([]any); len(refused) > 0 {
			return fmt.Errorf("%d rows were refused (see errors above); fix them and import again: stored rows count as unchanged", len(refused))
		}
		return nil
	}
	return fmt.Errorf("unknown command devices %s; the device commands are:\n%s", verb, devicesUsage)
}

// importBody reads an import file: CSV goes as it is (the server checks each row),
// JSON is a list of devices or an object {"devices": [...]}.
func importBody(path string) (map[string]any, error) {
	data, err := os.ReadFile(path) //nolint:gosec // the user names the file to import
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(filepath.Ext(path), ".json") {
		return map[string]any{"csv": string(data)}, nil
	}
	var list []any
	if err := json.Unmarshal(data, &list); err == nil {
		return map[string]any{"devices": list}, nil
	}
	var obj struct {
		Devices []any `json:"devices"`
	}
	if err := json.Unmarshal(data, &obj); err != nil || obj.Devices == nil {
		return nil, fmt.Errorf("%s is not a JSON list of devices nor {\"devices\": [...]}", path)
	}
	return map[string]any{"devices": obj.Devices}, nil
}

var (
	deviceTypes    = []string{"STANDALONE", "SERVER", "SERVED_CLIENT"}
	deviceStatuses = []string{"ACTIVE", "RETURNED", "OBSOLETE", "NORMAL", "SERVED_RETURNED", "DROPPED", "EXPIRED"}
)

// enumValue turns a short value ("server") or the full name into the REST enum name
// ("DEVICE_TYPE_SERVER"); "client" is the standalone type's other name.
func enumValue(prefix, v string, allowed []string, flagName string) (string, error) {
	if v == "" {
		return "", nil
	}
	short := strings.TrimPrefix(strings.ToUpper(v), prefix)
	if prefix == "DEVICE_TYPE_" && short == "CLIENT" {
		short = "STANDALONE"
	}
	for _, a := range allowed {
		if a == short {
			return prefix + a, nil
		}
	}
	return "", fmt.Errorf("%s %q: one of %s", flagName, v, strings.ToLower(strings.Join(allowed, ", ")))
}

// lineItemSpec is one -line-item of devices map.
type lineItemSpec struct {
	ActivationID string
	Quantity     int64
	Expiry       time.Time // zero: the line item's own
}

// maxQuantity is the bound every quantity has.
const maxQuantity = 1_000_000_000

// parseLineItemSpec reads ACTIVATION_ID:QTY[:EXPIRY]. The expiry comes last so that
// the colons of an RFC 3339 time need no quoting.
func parseLineItemSpec(s string) (lineItemSpec, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 {
		return lineItemSpec{}, errors.New("want ACTIVATION_ID:QTY[:EXPIRY]")
	}
	id := strings.TrimPrefix(parts[0], "lineItems/")
	if id == "" || strings.ContainsAny(id, "/?#% \t\r\n\x00") {
		return lineItemSpec{}, fmt.Errorf("%q is not an activation ID", parts[0])
	}
	q, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || q < 1 || q > maxQuantity {
		return lineItemSpec{}, fmt.Errorf("quantity %q: want a whole number from 1 to %d", parts[1], maxQuantity)
	}
	out := lineItemSpec{ActivationID: id, Quantity: q}
	if len(parts) == 3 {
		e := parts[2]
		t, err := time.Parse(time.RFC3339Nano, e)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, e); err != nil {
				return lineItemSpec{}, fmt.Errorf("expiry %q: want RFC 3339 (2027-01-31T00:00:00Z) or YYYY-MM-DD", e)
			}
		}
		if t.IsZero() {
			return lineItemSpec{}, fmt.Errorf("expiry %q is not a date", e)
		}
		out.Expiry = t.UTC()
	}
	return out, nil
}

// String writes the spec back in the form parseLineItemSpec reads.
func (s lineItemSpec) String() string {
	out := s.ActivationID + ":" + strconv.FormatInt(s.Quantity, 10)
	if !s.Expiry.IsZero() {
		out += ":" + s.Expiry.Format(time.RFC3339Nano)
	}
	return out
}

// stringList is a flag that may be repeated.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// parseInterspersed parses flags placed before, between or after the positional
// arguments (the flag package alone stops at the first positional one).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil // after "--" everything is positional
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func query(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}
