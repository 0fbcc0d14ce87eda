// Package webrtc publishes cameras' live video to WebRTC viewers from the agent.
//
// A Publisher pulls each camera stream (camera and stream profile) over RTSP once, however
// many viewers watch it, and fans the RTP packets out to every viewer's peer connection
// without transcoding: H.264 as the camera sends it, and the camera's G.711 audio when it
// has some (PCMU and PCMA are WebRTC codecs, so they pass through as they are; AAC would
// need transcoding and is not offered).
//
// Data path:
//
//	camera --RTSP/RTP over TCP--> pull (one per camera+profile, gortsplib client)
//	   pull --H.264 packets--> keyframe cache + each viewer's queue --> viewer writer
//	        --> TrackLocalStaticRTP (per viewer) --> SRTP to the browser
//	   pull --audio packets--> one shared TrackLocalStaticRTP bound to every viewer
//
// Why the keyframe cache: a decoder can only start at a key frame (IDR with its SPS/PPS),
// and cameras send one every GOP, often seconds apart. The pull keeps the packets of the
// latest key frame group (SPS/PPS + IDR onwards), so a new viewer gets the group at once,
// then the live packets, and shows the current picture without waiting for the next key
// frame or asking the camera for one (which would disturb every other viewer's bit rate).
// The cached frames go out with timestamps squeezed together, so the receiver renders them
// immediately instead of replaying seconds of old video; live frames follow at their real
// spacing. Each viewer has its own sequence numbers and timestamps, continuous across the
// cached group and the live packets. A viewer's PLI or FIR is answered from the same cache,
// as is a viewer whose queue overflowed. A pull ends a grace period after its last viewer
// left, so a viewer who reloads the page does not cost a new RTSP session.
//
// Data channels the viewer negotiates on the same peer connection are handed to the
// caller of WatchChannels (the live service serves PTZ on one), and closed otherwise.
package webrtc
