// Command tessctl is Tessera's command-line client for operators, partners and end
// users: signing in (password or entitlement ID), tokens, accounts, users, order
// import, line items, devices, offline license verification, and any REST call.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/services/license/licfile"
)

const usage = `usage: tessctl <command> [flags]

commands:
  login            sign in through the REST gateway and print a bearer token
                   (-user and -password, or -key with an entitlement or activation ID)
  keys             fetch a tenant's public signing keys as JSON (-tenant; for offline checks)
  license verify   check a license (text or JSON form) offline against a keys file
  call             call any REST endpoint: tessctl call [-token T] METHOD PATH [JSON]
  tokens           list | create NAME LIFETIME [-for users/ID] | rotate ID | delete ID
  accounts         list [-filter F] | tree ID | claim ID KEY (an entitlement or
                   activation ID for a self-registered account)
  users            list [-filter F]
  orders           import FILE (a JSON BatchCreateOrdersRequest: {"orders": [...]})
  lineitems        list [-filter F]
  audit            list [-service account|entitlement] [-filter F] (producers)
  fulfillments     list [-filter F] | activate LINE_ITEM HOST_ID [COUNT] |
                   return ID [-count N] | rehost ID HOST_ID | file ID (prints the license);
                   activate, return and rehost take -request-id (retry safely)
  hosts            list ACCOUNT
  devices          list | create | get | map | unmap | return | move | history |
                   preview | import | export (tessctl devices for each one's
                   form; create, map, unmap, return and move take -request-id)

The gateway is -gateway or TESSERA_GATEWAY; the bearer token -token or TESSERA_TOKEN.

Flags of each command: tessctl <command> -h
`

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "tessctl:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("no command")
	}
	switch {
	case args[0] == "login":
		return login(args[1:], out)
	case args[0] == "keys":
		return keys(args[1:], out)
	case args[0] == "license" && len(args) > 1 && args[1] == "verify":
		return verify(args[2:], out)
	case args[0] == "call":
		return callCmd(args[1:], out)
	case args[0] == "devices":
		return devicesCmd(args[1:], out)
	case args[0] == "tokens" || args[0] == "accounts" || args[0] == "users" || args[0] == "orders" || args[0] == "lineitems" || args[0] == "audit" ||
		args[0] == "fulfillments" || args[0] == "hosts":
		return resourceCmd(args[0], args[1:], out)
	case args[0] == "-h" || args[0] == "help":
		_, err := fmt.Fprint(out, usage)
		return err
	}
	return fmt.Errorf("unknown command %q\n\n%s", strings.Join(args, " "), usage)
}

func gatewayFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("TESSERA_GATEWAY")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	return fs.String("gateway", def, "REST gateway URL (env TESSERA_GATEWAY)")
}

func call(method, target, token string, body any, into any) error {
	raw, err := send(method, target, token, body)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}

// send makes one request and returns the answer's body; anything but 200 is an error
// that carries the answer.
func send(method, target, token string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, rd) //nolint:gosec // a CLI calls the gateway its user names
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req) //nolint:gosec // see above
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", method, target, resp.Status, strings.TrimSpace(string(raw)))
	}
	return raw, nil
}

func login(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tessctl login", flag.ContinueOnError)
	gw := gatewayFlag(fs)
	tenant := fs.String("tenant", "", "tenant ID")
	user := fs.String("user", "", "user name")
	password := fs.String("password", os.Getenv("TESSERA_PASSWORD"), "password (env TESSERA_PASSWORD)")
	key := fs.String("key", "", "sign in with an entitlement ID or activation ID alone, instead of user and password")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var resp struct {
		AccessToken string `json:"access_token"`
	}
	path, body := "/v1/auth:login", map[string]string{"tenant_id": *tenant, "username": *user, "password": *password}
	if *key != "" {
		path, body = "/v1/auth:signInWithKey", map[string]string{"tenant_id": *tenant, "key": *key}
	}
	if err := call("POST", *gw+path, "", body, &resp); err != nil {
		return err
	}
	_, err := fmt.Fprintln(out, resp.AccessToken)
	return err
}

// KeysFile is the JSON written by `tessctl keys` and read by `license verify`:
// key ID → algorithm and raw public key (base64 in JSON).
type KeysFile map[string]KeyEntry

// KeyEntry is one public key of a KeysFile.
type KeyEntry struct {
	Algorithm string `json:"algorithm"` // ED25519 or ES256
	PublicKey []byte `json:"public_key"`
}

func keys(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tessctl keys", flag.ContinueOnError)
	gw := gatewayFlag(fs)
	tenant := fs.String("tenant", os.Getenv("TESSERA_TENANT"), "the tenant whose public keys to fetch (env TESSERA_TENANT); no sign-in needed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant == "" {
		return errors.New("keys needs -tenant")
	}
	var resp struct {
		SigningKeys []struct {
			KeyID     string `json:"key_id"`
			Algorithm string `json:"algorithm"`
			PublicKey []byte `json:"public_key"`
		} `json:"signing_keys"`
	}
	if err := call("GET", *gw+"/v1/tenants/"+url.PathEscape(*tenant)+"/publicKeys", "", nil, &resp); err != nil {
		return err
	}
	kf := KeysFile{}
	for _, k := range resp.SigningKeys {
		kf[k.KeyID] = KeyEntry{Algorithm: strings.TrimPrefix(k.Algorithm, "SIGNING_ALGORITHM_"), PublicKey: k.PublicKey}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(kf)
}

func verify(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tessctl license verify", flag.ContinueOnError)
	keysPath := fs.String("keys", "keys.json", "keys file written by 'tessctl keys'")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("license verify takes one license file (text or JSON form)")
	}
	raw, err := os.ReadFile(*keysPath)
	if err != nil {
		return err
	}
	var kf KeysFile
	if err := json.Unmarshal(raw, &kf); err != nil {
		return fmt.Errorf("%s: %w", *keysPath, err)
	}
	pub := licfile.Keys{}
	for id, k := range kf {
		pub[id] = licfile.PublicKey{Algorithm: k.Algorithm, Raw: k.PublicKey}
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	features, err := licfile.VerifyAny(data, pub)
	if err != nil {
		return err
	}
	for _, f := range features {
		if _, err := fmt.Fprintf(out, "OK %s %s expires %s count %s (key %s)\n", f.Name, f.Version, f.Expiry, f.Count, f.KeyID); err != nil {
			return err
		}
	}
	return nil
}

func tokenFlag(fs *flag.FlagSet) *string {
	return fs.String("token", os.Getenv("TESSERA_TOKEN"), "bearer token (env TESSERA_TOKEN)")
}

// callCmd sends one request and prints the JSON answer, indented.
func callCmd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tessctl call", flag.ContinueOnError)
	gw, token := gatewayFlag(fs), tokenFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		return errors.New("call takes METHOD PATH [JSON]")
	}
	var body any
	if fs.NArg() == 3 {
		if err := json.Unmarshal([]byte(fs.Arg(2)), &body); err != nil {
			return fmt.Errorf("the request body is not JSON: %w", err)
		}
	}
	return printCall(out, strings.ToUpper(fs.Arg(0)), *gw+fs.Arg(1), *token, body)
}

func printCall(out io.Writer, method, target, token string, body any) error {
	var resp any
	if err := call(method, target, token, body, &resp); err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(resp)
}

// withRequestID names the request of a seat-changing command, so that running it
// again with the same ID answers the first result instead of taking more seats. An
// empty *id gets a new one, printed to stderr for the retry.
func withRequestID(id *string, body map[string]any) map[string]any {
	if *id == "" {
		*id = "tessctl-" + rand.Text()[:16]
		fmt.Fprintf(os.Stderr, "request ID %s (retry with -request-id %s)\n", *id, *id)
	}
	body["request_id"] = *id
	return body
}

// resourceCmd covers the everyday account-service workflows.
func resourceCmd(resource string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tessctl "+resource, flag.ContinueOnError)
	gw, token := gatewayFlag(fs), tokenFlag(fs)
	filter := fs.String("filter", "", "search filter, e.g. display_name:\"acme\"")
	forUser := fs.String("for", "", "users/ID to make an IMPERSONATED token for")
	service := fs.String("service", "account", "whose audit trail: account or entitlement")
	count := fs.Int64("count", 0, "seats to return (0: all)")
	requestID := fs.String("request-id", "", "request ID of activate, return and rehost (default: a new one, printed to stderr); run again with it to retry without taking seats twice")
	if len(args) == 0 {
		return fmt.Errorf("%s needs a subcommand\n\n%s", resource, usage)
	}
	verb := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	base := *gw + "/v1/"
	retryable := func(body map[string]any) map[string]any { return withRequestID(requestID, body) }
	q := ""
	if *filter != "" {
		q = "?filter=" + url.QueryEscape(*filter)
	}
	switch resource + " " + verb {
	case "tokens list":
		return printCall(out, "GET", base+"accessTokens?filter="+url.QueryEscape("type = ALL"), *token, nil)
	case "tokens create":
		if fs.NArg() != 2 {
			return errors.New(`tokens create NAME LIFETIME (e.g. ci-token "30d")`)
		}
		tok := map[string]any{"display_name": fs.Arg(0)}
		if *forUser != "" {
			tok["created_for"] = *forUser
		}
		return printCall(out, "POST", base+"accessTokens", *token, map[string]any{"access_token": tok, "expires_in": fs.Arg(1)})
	case "tokens rotate", "tokens delete":
		if fs.NArg() != 1 {
			return fmt.Errorf("tokens %s ID", verb)
		}
		if verb == "rotate" {
			return printCall(out, "POST", base+"accessTokens/"+fs.Arg(0)+":rotate", *token, map[string]any{})
		}
		return printCall(out, "DELETE", base+"accessTokens/"+fs.Arg(0), *token, nil)
	case "accounts list":
		return printCall(out, "GET", base+"accounts"+q, *token, nil)
	case "accounts tree":
		if fs.NArg() != 1 {
			return errors.New("accounts tree ID")
		}
		return printCall(out, "GET", base+"accounts/"+fs.Arg(0)+":tree", *token, nil)
	case "accounts claim":
		if fs.NArg() != 2 {
			return errors.New("accounts claim ID KEY")
		}
		return printCall(out, "POST", base+"accounts/"+fs.Arg(0)+":claimKey", *token, map[string]any{"key": fs.Arg(1)})
	case "orders import":
		if fs.NArg() != 1 {
			return errors.New("orders import FILE")
		}
		data, err := os.ReadFile(fs.Arg(0)) //nolint:gosec // the user names the file to import
		if err != nil {
			return err
		}
		var batch any
		if err := json.Unmarshal(data, &batch); err != nil {
			return fmt.Errorf("%s is not JSON: %w", fs.Arg(0), err)
		}
		return printCall(out, "POST", base+"orders:batchCreate", *token, batch)
	case "lineitems list":
		return printCall(out, "GET", base+"lineItems"+q, *token, nil)
	case "users list":
		return printCall(out, "GET", base+"users"+q, *token, nil)
	case "fulfillments list":
		return printCall(out, "GET", base+"fulfillments"+q, *token, nil)
	case "fulfillments activate":
		if fs.NArg() < 2 || fs.NArg() > 3 {
			return errors.New("fulfillments activate LINE_ITEM HOST_ID [COUNT]")
		}
		n := int64(1)
		if fs.NArg() == 3 {
			if _, err := fmt.Sscan(fs.Arg(2), &n); err != nil {
				return fmt.Errorf("COUNT %q is not a number", fs.Arg(2))
			}
		}
		return printCall(out, "POST", base+"lineItems/"+url.PathEscape(fs.Arg(0))+":activate", *token, retryable(map[string]any{"host_id": fs.Arg(1), "quantity": n}))
	case "fulfillments return":
		if fs.NArg() != 1 {
			return errors.New("fulfillments return ID [-count N]")
		}
		body := map[string]any{}
		if *count > 0 {
			body["count"] = *count
		}
		return printCall(out, "POST", base+"fulfillments/"+url.PathEscape(fs.Arg(0))+":return", *token, retryable(body))
	case "fulfillments rehost":
		if fs.NArg() != 2 {
			return errors.New("fulfillments rehost ID HOST_ID")
		}
		return printCall(out, "POST", base+"fulfillments/"+url.PathEscape(fs.Arg(0))+":rehost", *token, retryable(map[string]any{"hosts": map[string]any{"server_host_ids": []string{fs.Arg(1)}}}))
	case "fulfillments file":
		if fs.NArg() != 1 {
			return errors.New("fulfillments file ID")
		}
		var f struct {
			LicenseText string `json:"license_text"`
		}
		if err := call("GET", base+"fulfillments/"+url.PathEscape(fs.Arg(0)), *token, nil, &f); err != nil {
			return err
		}
		_, err := io.WriteString(out, f.LicenseText)
		return err
	case "hosts list":
		if fs.NArg() != 1 {
			return errors.New("hosts list ACCOUNT")
		}
		return printCall(out, "GET", base+"accounts/"+url.PathEscape(fs.Arg(0))+"/hosts"+q, *token, nil)
	case "audit list":
		switch *service {
		case "account":
			return printCall(out, "GET", base+"auditEvents"+q, *token, nil)
		case "entitlement":
			return printCall(out, "GET", base+"services/"+*service+"/auditEvents"+q, *token, nil)
		}
		return fmt.Errorf("audit list: -service must be account or entitlement, not %q", *service)
	}
	return fmt.Errorf("unknown command %s %s\n\n%s", resource, verb, usage)
}
