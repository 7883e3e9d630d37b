//+------------------------------------------------------------------+
//| Socket.mqh - minimal non-blocking TCP client over WinSock.       |
//|                                                                  |
//| MT4 has no usable socket API of its own, so the bridge link goes |
//| through ws2_32.dll. Everything is non-blocking because the EA    |
//| runs on the terminal's single MQL thread: a blocking connect or  |
//| send to a dead bridge would freeze order observation. The caller |
//| drives the link from its timer: connect is started and then      |
//| polled, outgoing bytes sit in a queue that is pumped (handling   |
//| partial sends and WSAEWOULDBLOCK), and replies are collected     |
//| into a byte buffer that is cut into newline-terminated lines.    |
//|                                                                  |
//| MT4 is a 32-bit process: SOCKET, u_long and pointers are 32 bits |
//| wide, so they are declared as int. Structures are passed as int  |
//| arrays laid out exactly as WinSock expects them.                 |
//| Requires "Allow DLL imports".                                    |
//+------------------------------------------------------------------+
#property strict

#import "ws2_32.dll"
int    WSAStartup(ushort wVersionRequested, int &lpWSAData[]);
int    WSACleanup();
int    WSAGetLastError();
int    socket(int af, int type, int protocol);
int    connect(int s, int &name[], int namelen);
int    ioctlsocket(int s, int cmd, int &argp[]);
int    select(int nfds, int &readfds[], int &writefds[], int &exceptfds[], int &timeout[]);
int    send(int s, uchar &buf[], int len, int flags);
int    recv(int s, uchar &buf[], int len, int flags);
int    closesocket(int s);
int    inet_addr(uchar &cp[]);
ushort htons(ushort hostshort);
#import

#define BC_INVALID_SOCKET   -1
#define BC_SOCKET_ERROR     -1
#define BC_AF_INET          2
#define BC_SOCK_STREAM      1
#define BC_IPPROTO_TCP      6
// FIONBIO is 0x8004667E; as a signed 32-bit int that is -2147195266.
#define BC_FIONBIO          -2147195266
#define BC_WSAEWOULDBLOCK   10035
#define BC_WSAEINPROGRESS   10036
#define BC_INADDR_NONE      -1
// fd_set is { u_int fd_count; SOCKET fd_array[FD_SETSIZE=64]; }.
#define BC_FDSET_INTS       65
#define BC_RECV_CHUNK       8192
// Replies are tiny; a "line" this long means the peer is not the bridge.
#define BC_MAX_REPLY_BYTES  1048576

int   g_sock = BC_INVALID_SOCKET;
bool  g_wsaStarted = false;
int   g_sockLastError = 0;
uchar g_sockOut[];
int   g_sockOutLen = 0;
uchar g_sockIn[];
int   g_sockInLen = 0;
uint  g_sockLastTick = 0;
long  g_sockTickBase = 0;

//--- Monotonic milliseconds: GetTickCount() wraps every 49.7 days, the caller's deadlines must not.
long SockNowMs()
{
   uint t = GetTickCount();
   if(t < g_sockLastTick)
      g_sockTickBase += 4294967296;
   g_sockLastTick = t;
   return g_sockTickBase + (long)t;
}

bool SockStartup()
{
   if(g_wsaStarted)
      return true;
   int wsaData[128];   // WSADATA is 398 bytes on 32-bit Windows
   int rc = WSAStartup(0x0202, wsaData);
   if(rc != 0) {
      g_sockLastError = rc;
      return false;
   }
   g_wsaStarted = true;
   return true;
}

bool SockIsOpen()
{
   return g_sock != BC_INVALID_SOCKET;
}

void SockClose()
{
   if(g_sock != BC_INVALID_SOCKET)
      closesocket(g_sock);
   g_sock = BC_INVALID_SOCKET;
   g_sockOutLen = 0;
   g_sockInLen = 0;
}

void SockShutdown()
{
   SockClose();
   if(g_wsaStarted)
      WSACleanup();
   g_wsaStarted = false;
}

//--- Only dotted IPv4 literals (and "localhost") are supported: name resolution would need
//--- gethostbyname, which returns pointers into WinSock memory that MQL4 cannot dereference.
int SockResolve(string host)
{
   string h = StringTrimRight(StringTrimLeft(host));
   if(h == "localhost" || h == "")
      h = "127.0.0.1";
   uchar text[];
   StringToCharArray(h, text, 0, -1, CP_ACP);   // NUL-terminated, as inet_addr expects
   return inet_addr(text);
}

void SockFdSet(int &set[], bool include)
{
   ArrayInitialize(set, 0);
   if(include) {
      set[0] = 1;
      set[1] = g_sock;
   }
}

//--- select() on the current socket. Returns -1 on error, else 0/1 flags in the out params.
int SockSelect(bool wantRead, bool wantWrite, int waitMs, bool &readable, bool &writable, bool &failed)
{
   readable = false;
   writable = false;
   failed = false;
   int rs[BC_FDSET_INTS];
   int ws[BC_FDSET_INTS];
   int es[BC_FDSET_INTS];
   int tv[2];
   SockFdSet(rs, wantRead);
   SockFdSet(ws, wantWrite);
   SockFdSet(es, true);
   if(waitMs < 0)
      waitMs = 0;
   tv[0] = waitMs / 1000;
   tv[1] = (waitMs % 1000) * 1000;
   int rc = select(0, rs, ws, es, tv);
   if(rc == BC_SOCKET_ERROR) {
      g_sockLastError = WSAGetLastError();
      return -1;
   }
   // select() rewrites each set to hold only the ready sockets.
   readable = wantRead && rs[0] > 0;
   writable = wantWrite && ws[0] > 0;
   failed = es[0] > 0;
   return rc;
}

//--- Starts a non-blocking connect. Returns 1 connected, 0 in progress (poll it), -1 failed.
int SockConnectBegin(string host, int port)
{
   SockClose();
   g_sockLastError = 0;
   int addr = SockResolve(host);
   if(addr == BC_INADDR_NONE)
      return -1;
   int s = socket(BC_AF_INET, BC_SOCK_STREAM, BC_IPPROTO_TCP);
   if(s == BC_INVALID_SOCKET) {
      g_sockLastError = WSAGetLastError();
      return -1;
   }
   int mode[1];
   mode[0] = 1;
   if(ioctlsocket(s, BC_FIONBIO, mode) != 0) {
      g_sockLastError = WSAGetLastError();
      closesocket(s);
      return -1;
   }
   // sockaddr_in: sin_family (2 bytes, host order), sin_port (2 bytes, network order),
   // sin_addr (4 bytes, network order, as inet_addr returns it), 8 bytes of zero.
   int sa[4];
   sa[0] = BC_AF_INET | ((((int)htons((ushort)port)) & 0xFFFF) << 16);
   sa[1] = addr;
   sa[2] = 0;
   sa[3] = 0;
   g_sock = s;
   if(connect(s, sa, 16) == 0)
      return 1;
   int err = WSAGetLastError();
   if(err == BC_WSAEWOULDBLOCK || err == BC_WSAEINPROGRESS)
      return 0;
   g_sockLastError = err;
   SockClose();
   return -1;
}

//--- Polls a pending connect for up to waitMs. Returns 1 connected, 0 still pending, -1 failed.
int SockConnectPoll(int waitMs)
{
   if(g_sock == BC_INVALID_SOCKET)
      return -1;
   bool readable, writable, failed;
   int rc = SockSelect(false, true, waitMs, readable, writable, failed);
   if(rc < 0 || failed) {
      SockClose();
      return -1;
   }
   return writable ? 1 : 0;
}

void SockQueueBytes(const uchar &data[], int start, int len)
{
   if(len <= 0)
      return;
   ArrayResize(g_sockOut, g_sockOutLen + len, 65536);
   ArrayCopy(g_sockOut, data, g_sockOutLen, start, len);
   g_sockOutLen += len;
}

//--- Queues text as UTF-8 (the wire encoding), without the terminating NUL.
void SockQueueText(string text)
{
   uchar bytes[];
   int n = StringToCharArray(text, bytes, 0, -1, CP_UTF8);
   if(n > 0 && bytes[n - 1] == 0)
      n--;
   SockQueueBytes(bytes, 0, n);
}

int SockPendingBytes()
{
   return g_sockOutLen;
}

void SockDropSent(int sent)
{
   int left = g_sockOutLen - sent;
   if(left > 0) {
      // No pointer arithmetic in MQL4: the unsent tail is moved to the front of the queue.
      uchar tail[];
      ArrayResize(tail, left);
      ArrayCopy(tail, g_sockOut, 0, sent, left);
      ArrayCopy(g_sockOut, tail, 0, 0, left);
   }
   g_sockOutLen = left > 0 ? left : 0;
}

//--- Sends as much of the queue as the socket takes, waiting at most waitMs for buffer space.
//--- Returns the bytes still queued, or -1 when the connection failed (socket closed).
int SockPump(int waitMs)
{
   if(g_sock == BC_INVALID_SOCKET)
      return -1;
   long deadline = SockNowMs() + waitMs;
   while(g_sockOutLen > 0) {
      int rc = send(g_sock, g_sockOut, g_sockOutLen, 0);
      if(rc > 0) {
         SockDropSent(rc);
         continue;
      }
      int err = (rc == BC_SOCKET_ERROR) ? WSAGetLastError() : 0;
      if(rc == BC_SOCKET_ERROR && err != BC_WSAEWOULDBLOCK) {
         g_sockLastError = err;
         SockClose();
         return -1;
      }
      long left = deadline - SockNowMs();
      if(left <= 0)
         break;
      bool readable, writable, failed;
      if(SockSelect(false, true, (int)left, readable, writable, failed) < 0 || failed) {
         SockClose();
         return -1;
      }
      if(!writable)
         break;
   }
   return g_sockOutLen;
}

void SockKeepTail(int consumed)
{
   int left = g_sockInLen - consumed;
   if(left > 0) {
      uchar tail[];
      ArrayResize(tail, left);
      ArrayCopy(tail, g_sockIn, 0, consumed, left);
      ArrayCopy(g_sockIn, tail, 0, 0, left);
   }
   g_sockInLen = left > 0 ? left : 0;
}

//--- Drains whatever the peer sent and returns the complete lines (without "\r\n").
//--- A closed or broken connection closes the socket after the lines already received
//--- are returned, so a final error frame is still seen; check SockIsOpen() afterwards.
int SockReadLines(string &lines[])
{
   ArrayResize(lines, 0);
   if(g_sock == BC_INVALID_SOCKET)
      return 0;
   uchar chunk[BC_RECV_CHUNK];
   bool closed = false;
   for(int guard = 0; guard < 64; guard++) {
      int rc = recv(g_sock, chunk, BC_RECV_CHUNK, 0);
      if(rc > 0) {
         ArrayResize(g_sockIn, g_sockInLen + rc, 65536);
         ArrayCopy(g_sockIn, chunk, g_sockInLen, 0, rc);
         g_sockInLen += rc;
         continue;
      }
      if(rc == 0)
         closed = true;
      else {
         int err = WSAGetLastError();
         if(err != BC_WSAEWOULDBLOCK) {
            g_sockLastError = err;
            closed = true;
         }
      }
      break;
   }
   int count = 0;
   int start = 0;
   for(int i = 0; i < g_sockInLen; i++) {
      if(g_sockIn[i] != '\n')
         continue;
      int len = i - start;
      if(len > 0 && g_sockIn[start + len - 1] == '\r')
         len--;
      if(len > 0) {
         ArrayResize(lines, count + 1);
         lines[count] = CharArrayToString(g_sockIn, start, len, CP_UTF8);
         count++;
      }
      start = i + 1;
   }
   if(start > 0)
      SockKeepTail(start);
   if(g_sockInLen > BC_MAX_REPLY_BYTES)
      closed = true;
   if(closed)
      SockClose();
   return count;
}

//+------------------------------------------------------------------+
