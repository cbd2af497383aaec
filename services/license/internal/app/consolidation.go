package app

import (
	"strings"
	"time"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// consolidate makes one license file per server host (and license technology) that
// two or more of the fulfillments share (SPEC LIC-6). Their increments keep their own
// signatures: each covers the shared header; the JSON form is signed anew.
func consolidate(fs []Fulfillment, key SigningKey, tenant string, now time.Time) ([]ConsolidatedLicense, error) {
	var order []string
	members := map[string][]int{}
	for i, f := range fs {
		if len(f.ServerHostIDs) == 0 {
			continue
		}
		k := strings.Join(f.ServerHostIDs, " ") + "|" + f.Technology
		if _, ok := members[k]; !ok {
			order = append(order, k)
		}
		members[k] = append(members[k], i)
	}
	var out []ConsolidatedLicense
	for _, k := range order {
		idx := members[k]
		if len(idx) < 2 {
			continue
		}
		cl := ConsolidatedLicense{
			ID: ids.New("CON", 3), AccountID: fs[idx[0]].AccountID, ServerHostIDs: fs[idx[0]].ServerHostIDs,
			Technology: fs[idx[0]].Technology, KeyID: key.ID, CreateTime: now,
		}
		var texts []string
		for _, i := range idx {
			fs[i].ConsolidatedID = cl.ID
			cl.FulfillmentIDs = append(cl.FulfillmentIDs, fs[i].ID)
			texts = append(texts, fs[i].LicenseText)
		}
		text, doc, err := mergeLicenses(texts, key.Signer, "Tessera consolidated license "+cl.ID+" ("+tenant+"), issued "+licfile.Date(now))
		if err != nil {
			return nil, err
		}
		cl.LicenseText, cl.LicenseJSON = text, string(doc)
		out = append(out, cl)
	}
	return out, nil
}

// mergeLicenses joins licenses of one server host into one file: the shared header
// and every increment with its signature, plus the JSON form of the whole.
func mergeLicenses(texts []string, signer licfile.Signer, comment string) (string, []byte, error) {
	var merged *licfile.License
	for _, t := range texts {
		lic, err := licfile.Parse(t)
		if err != nil {
			return "", nil, err
		}
		if merged == nil {
			merged = lic
			continue
		}
		merged.Increments = append(merged.Increments, lic.Increments...)
	}
	doc, err := licfile.SignJSON(merged, signer)
	if err != nil {
		return "", nil, err
	}
	return merged.Format(comment), doc, nil
}
