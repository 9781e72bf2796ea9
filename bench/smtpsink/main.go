// smtpsink: an SMTP server on loopback that accepts every message and keeps none, for
// bench/http.py. It stands where a deployment's mail relay stands (another machine), so it
// should take as little of the benchmark machine's CPU as a server can: aiosmtpd, the
// server the tests use, took 0.9 ms of CPU for each checkout's mails.
//
//	smtpsink -listen 127.0.0.1:PORT
package main

import (
	"flag"
	"io"
	"log"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

var received atomic.Int64

type backend struct{}

func (backend) NewSession(*smtp.Conn) (smtp.Session, error) { return session{}, nil }

type session struct{}

func (session) Mail(string, *smtp.MailOptions) error { return nil }
func (session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (session) Reset()                               {}
func (session) Logout() error                        { return nil }

func (session) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	received.Add(1)
	return nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:2525", "address to listen on (loopback)")
	flag.Parse()
	server := smtp.NewServer(backend{})
	server.Addr = *listen
	server.Domain = "localhost"
	server.ReadTimeout = time.Minute
	server.WriteTimeout = time.Minute
	server.MaxMessageBytes = 10 << 20
	server.MaxRecipients = 100
	log.Printf("smtpsink listening on %s", *listen)
	if err := server.ListenAndServe(); err != nil {
		log.Fatal(err)
	}
}
