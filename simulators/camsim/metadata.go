package camsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"slices"
	"sync"
)

// The ONVIF metadata track of RTSP (event=on, vapix.md 13.3): each event as one
// tt:MetadataStream document, in the form Axis cameras send (Kane610/axis fixtures). The
// first document of a feed is an empty stream, then the current state of every stateful
// event (PropertyOperation="Initialized"), then events as they happen ("Changed" for
// stateful ones, no PropertyOperation for the others).

const metadataHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<tt:MetadataStream xmlns:tt="http://www.onvif.org/ver10/schema">` + "\n"

// producerID is a stable UUID-like identity of the camera's event producer.
func (c *Camera) producerID() string {
	s := sha256.Sum256([]byte("camsim-producer:" + c.id.Serial))
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// metadataDoc renders e; op is "Initialized", "Changed" or "" (not a property event).
func metadataDoc(e Event, op, producer string) []byte {
	var b bytes.Buffer
	b.WriteString(metadataHeader)
	b.WriteString(`<tt:Event><wsnt:NotificationMessage xmlns:tns1="http://www.onvif.org/ver10/topics" xmlns:tnsaxis="http://www.axis.com/2009/event/topics" xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:wsa5="http://www.w3.org/2005/08/addressing">`)
	b.WriteString(`<wsnt:Topic Dialect="http://docs.oasis-open.org/wsn/t-1/TopicExpression/Simple">`)
	xmlText(&b, e.Topic)
	b.WriteString(`</wsnt:Topic><wsnt:ProducerReference><wsa5:Address>uri://` + producer + `/ProducerReference</wsa5:Address></wsnt:ProducerReference><wsnt:Message><tt:Message UtcTime="`)
	b.WriteString(e.Timestamp.UTC().Format("2006-01-02T15:04:05.000000Z"))
	b.WriteString(`"`)
	if op != "" {
		b.WriteString(` PropertyOperation="` + op + `"`)
	}
	b.WriteString(`>`)
	for _, part := range []struct {
		tag   string
		items map[string]string
	}{{"Source", e.Source}, {"Key", e.Key}, {"Data", e.Data}} {
		b.WriteString("<tt:" + part.tag + ">")
		names := make([]string, 0, len(part.items))
		for k := range part.items {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			b.WriteString(`<tt:SimpleItem Name="`)
			xmlText(&b, k)
			b.WriteString(`" Value="`)
			xmlText(&b, part.items[k])
			b.WriteString(`"/>`)
		}
		b.WriteString("</tt:" + part.tag + ">")
	}
	b.WriteString("</tt:Message></wsnt:Message></wsnt:NotificationMessage></tt:Event></tt:MetadataStream>\n")
	return b.Bytes()
}

func xmlText(b *bytes.Buffer, s string) { _ = xml.EscapeText(b, []byte(s)) }

// metadataFeed opens one RTSP viewer's feed of the camera's events (media.ServerConfig.Events).
func (c *Camera) metadataFeed() (initial [][]byte, updates <-chan []byte, cancel func()) {
	events, current, unsubscribe := c.events.subscribe()
	producer := c.producerID()
	initial = [][]byte{[]byte(metadataHeader + "</tt:MetadataStream>\n")}
	slices.SortFunc(current, func(a, b Event) int { return a.Timestamp.Compare(b.Timestamp) })
	for _, e := range current {
		initial = append(initial, metadataDoc(e, "Initialized", producer))
	}
	out := make(chan []byte, subscriberBuffer)
	done := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case e, ok := <-events:
				if !ok {
					return // the camera rebooted: its streams end
				}
				op := ""
				if e.Property {
					op = "Changed"
				}
				select {
				case out <- metadataDoc(e, op, producer):
				case <-done:
					return
				}
			case <-done:
				return
			}
		}
	}()
	return initial, out, sync.OnceFunc(func() {
		close(done)
		unsubscribe()
	})
}
