# Tessera tour: the golden path over REST against `make dev`. Needs curl and jq.
# It can run again and again against one server, and leaves two files behind in the
# current folder: cad-2.0.txt (step 7) and LicenseFile.lic (step 11).
set -Eeuo pipefail
trap 'echo "tour failed at line $LINENO: $BASH_COMMAND" >&2' ERR
G=${TESSERA_GATEWAY:-http://127.0.0.1:8080}
PASS=$(jq -r .admin_password .tessera/dev-state.json)
RUN=$(date +%s)$RANDOM # this run's orders and request IDs, apart from earlier runs'

# create POSTs a resource and prints it; one that exists already (409: the tour ran
# before against this server) is read back from the path in $4 instead.
create() { # AUTH-HEADER COLLECTION BODY EXISTING
  local out code
  out=$(curl -sS -w '\n%{http_code}' "$G/v1/$2" -H "$1" -d "$3"); code=${out##*$'\n'}; out=${out%$'\n'*}
  case $code in
    2??) echo "$out" ;;
    409) curl -sSf "$G/v1/$4" -H "$1" ;;
    *) echo "POST /v1/$2 answered $code: $out" >&2; return 1 ;;
  esac
}

# 1. Sign in as the demo tenant's administrator: a bearer token comes back.
ADMIN=$(curl -sf $G/v1/auth:login -d "{\"tenant_id\":\"demo\",\"username\":\"admin\",\"password\":\"$PASS\"}" | jq -r .access_token)
A="Authorization: Bearer $ADMIN"

# 2. A customer account, and a user who administers it.
create "$A" accounts '{"account_id":"ACME","account":{"display_name":"Acme Corp","type":"ACCOUNT_TYPE_CUSTOMER"}}' accounts/ACME | jq -c '{name,type}'
create "$A" users '{"password":"Alice-Secret-1","user":{"username":"alice","first_name":"Alice","last_name":"Liddell","email":"alice@acme.example","memberships":[{"account":"accounts/ACME","roles":["customer_admin"]}]}}' \
  'users?filter=username%3D%22alice%22' | jq -c '.users[0] // . | {name,username}'

# 3. The catalog: a floating, counted license model and a product with one feature.
create "$A" licenseModels '{"license_model_id":"floating","license_model":{"display_name":"Floating","type":"LICENSE_MODEL_TYPE_FLOATING_COUNTED","allowed_host_id_types":["HOSTNAME"]}}' licenseModels/floating | jq -c '{name,type}'
create "$A" products '{"product_id":"cad","product":{"display_name":"CAD Pro","version":"2.0","license_technology":"LICENSE_TECHNOLOGY_CERTIFICATE","features":[{"name":"cad_pro","version":"2.0"}],"license_models":["licenseModels/floating"]}}' products/cad | jq -c '{name,features}'

# 4. An order system pushes an order: an entitlement with one line item of 10 seats.
ACT=$(curl -sf $G/v1/orders -H "$A" -d "{\"order_id\":\"SO-$RUN-1\",\"sold_to\":\"accounts/ACME\",\"lines\":[{\"line_number\":\"1\",\"product\":\"products/cad\",\"license_model\":\"licenseModels/floating\",\"quantity\":10}]}" | jq -r '.line_items[0].activation_id')
echo "activation ID: $ACT"

# 5. Alice signs in and activates 3 seats for the license server dogma (a retry with
# the same request_id would return the same license, taking no more seats).
ALICE=$(curl -sf $G/v1/auth:login -d '{"tenant_id":"demo","username":"alice","password":"Alice-Secret-1"}' | jq -r .access_token)
B="Authorization: Bearer $ALICE"
curl -sf $G/v1/lineItems/$ACT:activate -H "$B" -d '{"host_id":"HOSTNAME=dogma","quantity":3,"request_id":"tour-'$RUN'-1"}' | jq -r .license_text
curl -sf $G/v1/lineItems/$ACT -H "$B" | jq -e '.available == "7"'

# 6. Acme's edge box, known by its Ethernet address, holds 2 more seats (docs/device.md).
create "$B" devices '{"device_id":"edge-1","device":{"account":"accounts/ACME","display_name":"Edge box","type":"DEVICE_TYPE_STANDALONE","id_type":"ETHER","host_id":"0011223344ab"}}' devices/edge-1 | jq -c '{name,type,host_id}'
curl -sf $G/v1/devices/edge-1:mapLineItem -H "$B" -d "{\"line_item\":\"lineItems/$ACT\",\"quantity\":2,\"request_id\":\"tour-$RUN-2\"}" | jq -c .line_items
curl -sf $G/v1/devices/edge-1 -H "$B" | jq -e --arg li "lineItems/$ACT" '.line_items[] | select(.line_item == $li) | .quantity == "2"'
curl -sf $G/v1/lineItems/$ACT -H "$B" | jq -e '.available == "5"'

# 7. The producer publishes a download; Alice, entitled to the product, fetches it.
create "$A" packages '{"package_id":"cad-2.0","package":{"display_name":"CAD Pro 2.0","product":"products/cad"}}' packages/cad-2.0 | jq -c '{name,product}'
FILE=$(create "$A" packages/cad-2.0/files "{\"filename\":\"cad-2.0.txt\",\"content\":\"$(printf 'CAD Pro 2.0 installer stand-in\n' | base64)\"}" packages/cad-2.0 \
  | jq -r '(.files // [.])[] | select(.filename == "cad-2.0.txt") | .name')
curl -sf "$G/v1/$FILE:download" -H "$B" -o cad-2.0.txt && sha256sum cad-2.0.txt
curl -sf "$G/v1/$FILE:download" -H "$B" -H "Range: bytes=0-6"; echo

# 8. The license email (LicenseFile.lic attached) arrived in the local mailbox.
sleep 1; grep -l "LicenseFile.lic" .tessera/mailbox/*.eml

# 9. Refusals: bad input (400, field named), unknown ID (404), no permission (403).
curl -s $G/v1/lineItems/$ACT:activate -H "$B" -d '{"host_id":"dogma","quantity":1}' | jq -c .error
curl -s $G/v1/lineItems/ACT-NOPE -H "$B" | jq -c .error
curl -s $G/v1/products -H "$B" -d '{"product":{"display_name":"x"}}' | jq -c .error

# 10. Self-service: an order for an end customer who registers later. Nina registers
# with its entitlement ID (a new self-registered account takes it; her temporary
# password is mailed), and the ID alone opens a session that sees just that entitlement.
ENT=$(curl -sf $G/v1/orders -H "$A" -d "{\"order_id\":\"SO-$RUN-2\",\"lines\":[{\"line_number\":\"1\",\"product\":\"products/cad\",\"license_model\":\"licenseModels/floating\",\"quantity\":5}]}" | jq -r .entitlement_id)
curl -sf $G/v1/registrations -d "{\"tenant_id\":\"demo\",\"key\":\"$ENT\",\"company\":\"Newco $RUN\",\"person\":{\"first_name\":\"Nina\",\"last_name\":\"New\",\"email\":\"nina+$RUN@newco.example\"}}" | jq -c '{account, user: .user.username}'
KEY=$(curl -sf $G/v1/auth:signInWithKey -d "{\"tenant_id\":\"demo\",\"key\":\"$ENT\"}" | jq -r .access_token)
curl -sf $G/v1/entitlements/$ENT -H "Authorization: Bearer $KEY" | jq -c '{account, line_items: [.line_items[].activation_id]}'

# 11. Alice's license: in the fulfillments list, saved as LicenseFile.lic, and
# checkable offline by anyone with the tenant's public keys (no sign-in needed).
FUL=$(curl -sf "$G/v1/fulfillments?filter=host%3A%22dogma%22" -H "$B" | jq -r '.fulfillments[0].name')
curl -sf "$G/v1/$FUL:licenseFile" -H "$B" -o LicenseFile.lic && grep -c INCREMENT LicenseFile.lic
curl -sf $G/v1/tenants/demo/publicKeys | jq -c '[.signing_keys[] | {key_id, algorithm}]'
echo "tour done; it left cad-2.0.txt and LicenseFile.lic here"
