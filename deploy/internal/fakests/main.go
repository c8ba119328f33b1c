// Command fakests answers STS GetCallerIdentity on loopback, so that `terraform plan` of
// deploy/terraform runs offline: the configuration's one data source that calls AWS,
// aws_caller_identity, gets a fixed account id from it (scripts/check-infra.sh --plan points the
// provider's sts endpoint here; every other call the plan would make is skipped by the provider's
// skip_* settings). Any other action gets an STS-shaped error, so a configuration that starts to
// call AWS at plan time fails loudly instead of hanging on the network.
//
//	go run ./deploy/internal/fakests [-addr 127.0.0.1:0] [-account 123456789012] [-addr-file F]
//
// It prints its base URL (http://127.0.0.1:PORT) on standard output, and to -addr-file when given,
// then serves until killed. It answers both of STS's wire protocols: the query protocol (form body
// Action=GetCallerIdentity, XML answer) and AWS JSON 1.0 (X-Amz-Target
// AWSSecurityTokenServiceV20110615.GetCallerIdentity, JSON answer).
package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback `address` to listen on")
	account := flag.String("account", "123456789012", "12-digit AWS account `id` to answer with")
	addrFile := flag.String("addr-file", "", "also write the base URL to this `file` (atomically)")
	flag.Parse()
	if err := run(*addr, *account, *addrFile); err != nil {
		fmt.Fprintln(os.Stderr, "fakests:", err)
		os.Exit(1)
	}
}

func run(addr, account, addrFile string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %s: only a loopback address is allowed", addr)
	}
	h, err := newHandler(account)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	if addrFile != "" {
		tmp := addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(base+"\n"), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, addrFile); err != nil {
			return err
		}
	}
	fmt.Println(base)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// identity is what GetCallerIdentity returns.
type identity struct {
	Account, Arn, UserID string
}

type handler struct{ id identity }

func newHandler(account string) (*handler, error) {
	if len(account) != 12 || strings.Trim(account, "0123456789") != "" {
		return nil, fmt.Errorf("-account %q: an AWS account id is 12 digits", account)
	}
	return &handler{id: identity{
		Account: account,
		Arn:     "arn:aws:iam::" + account + ":user/ctc-plan",
		UserID:  "AIDACTCPLANFAKEUSER01",
	}}, nil
}

const jsonTargetPrefix = "AWSSecurityTokenServiceV20110615."

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "fakests: STS takes POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		h.serveJSON(w, strings.TrimPrefix(target, jsonTargetPrefix))
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		h.serveXMLError(w, "InvalidParameterValue", "fakests: the body is not a form: "+err.Error())
		return
	}
	action := form.Get("Action")
	if action != "GetCallerIdentity" {
		h.serveXMLError(w, "InvalidAction", errUnsupported(action).Error())
		return
	}
	type result struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	}
	type response struct {
		XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
		Result    result   `xml:"GetCallerIdentityResult"`
		RequestID string   `xml:"ResponseMetadata>RequestId"`
	}
	out, _ := xml.Marshal(response{Result: result{h.id.Arn, h.id.UserID, h.id.Account}, RequestID: "fakests-0"})
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", "fakests-0")
	_, _ = w.Write(append([]byte(xml.Header), out...))
}

func (h *handler) serveJSON(w http.ResponseWriter, op string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", "fakests-0")
	if op != "GetCallerIdentity" {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": "InvalidAction", "message": errUnsupported(op).Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"Account": h.id.Account, "Arn": h.id.Arn, "UserId": h.id.UserID})
}

func (h *handler) serveXMLError(w http.ResponseWriter, code, msg string) {
	type errBody struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type response struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Error     errBody  `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}
	out, _ := xml.Marshal(response{Error: errBody{"Sender", code, msg}, RequestID: "fakests-0"})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(out)
}

func errUnsupported(action string) error {
	return errors.New("fakests answers only GetCallerIdentity, not " + fmt.Sprintf("%q", action) +
		": a plan of deploy/terraform must not call AWS beyond the caller identity")
}
