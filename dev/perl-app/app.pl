#!/usr/bin/env perl
# Sample application of the local DR stack: one instance per site, each talking to its site's database.
# Every response names the site that served it, so a client can tell where its requests and writes went.
#
# Settings come from the environment (written by the stack manager into .stack/perl-app/<site>/app.env):
#   DR_APP_SITE              site name reported in every response (e.g. gra, rbx)
#   DR_APP_LISTEN            listen URL, e.g. http://127.0.0.1:18080
#   DR_APP_DB_HOST / _PORT   the site's MySQL/MariaDB server
#   DR_APP_DB_NAME           database (app)
#   DR_APP_DB_USER           database user
#   DR_APP_DB_PASSWORD_FILE  file holding the password (never passed on the command line)
#   DR_APP_WORKERS           (read by appctl, optional) more than 1: that many prefork worker processes
#   DR_APP_DB_ENDPOINT_FILE  (optional) a file of DB_HOST=… and DB_PORT=… lines that replaces DR_APP_DB_HOST/_PORT:
#                            read again whenever it changes (checked before each use of the database), so that the
#                            orchestrator can point the app at a promoted server without a restart
#   DR_APP_REDIS_HOST / _PORT       (optional) the site's Redis, where login sessions are kept (POST /login,
#                                   GET /session); without them those two routes answer 404
#   DR_APP_REDIS_PASSWORD_FILE      (optional) file holding the Redis password
use Mojolicious::Lite -signatures;
use DBI;
use Digest::SHA qw(sha256_hex);
use Scalar::Util qw(looks_like_number);

my %cfg;
my $endpoint_file = $ENV{DR_APP_DB_ENDPOINT_FILE} // '';
for my $key (qw(SITE DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD_FILE)) {
  next if length $endpoint_file && $key =~ /^DB_(HOST|PORT)\z/;
  my $value = $ENV{"DR_APP_$key"};
  die "DR_APP_$key is not set\n" unless defined $value && length $value;
  $cfg{$key} = $value;
}
my $site = $cfg{SITE};

sub db_password {
  open my $fh, '<', $cfg{DB_PASSWORD_FILE} or die "cannot read the database password file: $!\n";
  my $password = <$fh>;
  close $fh;
  $password //= '';
  $password =~ s/\r?\n\z//;
  return $password;
}

my ($dbh, $dbh_pid);
my $schema_ready = 0;

# With DR_APP_DB_ENDPOINT_FILE: DB_HOST and DB_PORT from the file, read again when its identity, size or mtime
# changes (it is replaced by a rename). A changed endpoint drops the open handle, so no statement goes to the old
# server once the file names another. A file that cannot be read or lacks a field keeps nothing: the app fails.
my $endpoint_stamp = '';
sub refresh_endpoint {
  return unless length $endpoint_file;
  my @st = stat $endpoint_file or die "cannot read the endpoint file $endpoint_file: $!\n";
  my $stamp = join ':', @st[0, 1, 7, 9];
  return if $stamp eq $endpoint_stamp;
  open my $fh, '<', $endpoint_file or die "cannot read the endpoint file $endpoint_file: $!\n";
  my %read = map { /^\s*(DB_HOST|DB_PORT)\s*=\s*(\S+)\s*$/ ? ($1 => $2) : () } <$fh>;
  close $fh;
  for my $key (qw(DB_HOST DB_PORT)) { die "$endpoint_file has no $key= line\n" unless defined $read{$key} }
  if (($cfg{DB_HOST} // '') ne $read{DB_HOST} || ($cfg{DB_PORT} // '') ne $read{DB_PORT}) {
    @cfg{qw(DB_HOST DB_PORT)} = @read{qw(DB_HOST DB_PORT)};
    $dbh = undef;
    $schema_ready = 0;
  }
  $endpoint_stamp = $stamp;
}

# A connected handle, reconnecting when the server went away (restart, failover, network). A handle opened
# by another process (the prefork manager, before it forked this worker) is left to it, never used here.
sub db {
  refresh_endpoint();
  return $dbh if $dbh && $dbh_pid == $$ && $dbh->ping;
  $dbh = undef;
  $dbh_pid = $$;
  $dbh = DBI->connect(
    "DBI:MariaDB:database=$cfg{DB_NAME};host=$cfg{DB_HOST};port=$cfg{DB_PORT}",
    $cfg{DB_USER}, db_password(),
    {RaiseError => 1, PrintError => 0, AutoCommit => 1, AutoInactiveDestroy => 1, mariadb_connect_timeout => 2,
     mariadb_read_timeout => 5, mariadb_write_timeout => 5},
  );
  return $dbh;
}

sub read_only ($h) { return $h->selectrow_array('SELECT @@global.read_only') ? 1 : 0 }

# Creates the orders table, but only on a writable server: on a read-only replica the table arrives
# by replication, and creating it there would add a transaction the primary never had.
sub ensure_schema {
  return 1 if $schema_ready;
  my $h = db();
  return 0 if read_only($h);
  $h->do(<<~'SQL');
    CREATE TABLE IF NOT EXISTS orders (
      id BIGINT AUTO_INCREMENT PRIMARY KEY,
      item VARCHAR(200) NOT NULL,
      quantity INT NOT NULL DEFAULT 1,
      client_ref VARCHAR(64) NULL,
      site VARCHAR(32) NOT NULL,
      created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      UNIQUE KEY orders_client_ref (client_ref)
    )
    SQL
  $schema_ready = 1;
  return 1;
}

sub short_error ($err) {
  my $text = "$err";
  $text =~ s/\s+at \S+ line \d+\.?\s*\z//;
  $text =~ s/\s+/ /g;
  return $text;
}

sub order_json ($row) {
  return {
    id => 0 + $row->{id}, item => $row->{item}, quantity => 0 + $row->{quantity},
    client_ref => $row->{client_ref}, written_at_site => $row->{site}, created_at => $row->{created_at},
    site => $site,
  };
}

sub find_order ($h, $column, $value) {
  return $h->selectrow_hashref(
    "SELECT id, item, quantity, client_ref, site, created_at FROM orders WHERE $column = ?", undef, $value);
}

eval { ensure_schema(); 1 } or app->log->warn('orders table not checked at start: ' . short_error($@));

get '/health' => sub ($c) {
  my $result = eval {
    my $h = db();
    $h->selectrow_array('SELECT 1');
    {status => 'ok', site => $site, db => 'ok', db_read_only => read_only($h) ? \1 : \0};
  };
  return $c->render(json => $result, status => 200) if $result;
  $c->render(json => {status => 'fail', site => $site, db => 'error: ' . short_error($@)}, status => 503);
};

post '/orders' => sub ($c) {
  my $body = $c->req->json // {};
  my $item = ref $body eq 'HASH' ? $body->{item} : undef;
  my $quantity = ref $body eq 'HASH' ? $body->{quantity} // 1 : 1;
  my $client_ref = ref $body eq 'HASH' ? $body->{client_ref} : undef;
  return $c->render(json => {error => 'a JSON body with a non-empty "item" is required', site => $site},
    status => 400)
    unless defined $item && !ref $item && length $item;
  return $c->render(json => {error => '"quantity" must be a positive integer', site => $site}, status => 400)
    unless looks_like_number($quantity) && $quantity == int($quantity) && $quantity > 0;
  my ($status, $json) = eval {
    my $h = db();
    return (503, {error => 'database is read-only', site => $site}) if read_only($h);
    ensure_schema();
    if (defined $client_ref) {
      # A retried request with the same client_ref gets the order it already created.
      my $existing = find_order($h, 'client_ref', $client_ref);
      return (200, order_json($existing)) if $existing;
    }
    $h->do('INSERT INTO orders (item, quantity, client_ref, site) VALUES (?, ?, ?, ?)',
      undef, $item, $quantity, $client_ref, $site);
    my $id = $h->last_insert_id(undef, undef, 'orders', 'id');
    return (201, order_json(find_order($h, 'id', $id)));
  };
  return $c->render(json => $json, status => $status) if defined $status;
  $c->render(json => {error => 'database error: ' . short_error($@), site => $site}, status => 503);
};

get '/orders/:id' => [id => qr/\d+/] => sub ($c) {
  my $row = eval { find_order(db(), 'id', $c->param('id')) // 0 };
  return $c->render(json => {error => 'database error: ' . short_error($@), site => $site}, status => 503)
    unless defined $row;
  return $c->render(json => {error => 'order not found', id => 0 + $c->param('id'), site => $site},
    status => 404)
    unless $row;
  $c->render(json => order_json($row));
};

# Login sessions in the site's Redis (when configured): POST /login {"user": …} creates one (a random id, kept 24 h,
# also set as the dr_session cookie) and GET /session says whether the caller's (cookie, or ?session=) is valid. A
# session written before a failover is valid after it when the Redis master moved with the pair. A write Redis
# refuses (a read-only replica, a paused or unreachable master) is a 503: nothing is acknowledged that was not kept.
my %redis_cfg = map { $_ => $ENV{"DR_APP_REDIS_$_"} } qw(HOST PORT PASSWORD_FILE);
my $sessions_on = defined $redis_cfg{HOST} && length $redis_cfg{HOST};
my $session_ttl = 86_400;
my $session_id_re = qr/\A[0-9a-f]{64}\z/;

sub redis_password {
  return undef unless defined $redis_cfg{PASSWORD_FILE} && length $redis_cfg{PASSWORD_FILE};
  open my $fh, '<', $redis_cfg{PASSWORD_FILE} or die "cannot read the Redis password file: $!\n";
  my $password = <$fh> // '';
  close $fh;
  $password =~ s/\r?\n\z//;
  return $password;
}

# A connection per request: after a failover the next request meets the server as it is now.
sub redis {
  require Redis;
  my $password = redis_password();
  return Redis->new(
    server => "$redis_cfg{HOST}:$redis_cfg{PORT}", reconnect => 0, cnx_timeout => 2, read_timeout => 5,
    write_timeout => 5, (defined $password ? (password => $password) : ()),
  );
}

sub session_of ($c) {
  my $id = $c->param('session') // $c->cookie('dr_session') // '';
  return $id =~ $session_id_re ? $id : undef;
}

post '/login' => sub ($c) {
  return $c->render(json => {error => 'sessions are not configured', site => $site}, status => 404)
    unless $sessions_on;
  my $body = $c->req->json // {};
  my $user = ref $body eq 'HASH' ? $body->{user} : undef;
  return $c->render(json => {error => 'a JSON body with a non-empty "user" is required', site => $site},
    status => 400)
    unless defined $user && !ref $user && length $user;
  my $id = sha256_hex(join ':', $$, time, rand, $user);
  my $ok = eval { redis()->set("session:$id", $user, 'EX', $session_ttl); 1 };
  return $c->render(json => {error => 'session store error: ' . short_error($@), site => $site}, status => 503)
    unless $ok;
  $c->cookie(dr_session => $id, {path => '/', httponly => 1});
  $c->render(json => {session => $id, user => $user, site => $site}, status => 201);
};

get '/session' => sub ($c) {
  return $c->render(json => {error => 'sessions are not configured', site => $site}, status => 404)
    unless $sessions_on;
  my $id = session_of($c);
  return $c->render(json => {valid => \0, error => 'no session given', site => $site}, status => 401)
    unless defined $id;
  my $user = eval { redis()->get("session:$id") // '' };
  return $c->render(json => {error => 'session store error: ' . short_error($@), site => $site}, status => 503)
    unless defined $user;
  return $c->render(json => {valid => \0, site => $site}, status => 401) unless length $user;
  $c->render(json => {valid => \1, user => $user, site => $site});
};

# For Prometheus (the stack's probe of each site): the app answers, and whether its database does, in the text
# exposition format. A scrape that fails (the app or its host is down) is Prometheus' own `up == 0`.
get '/metrics' => sub ($c) {
  my $db_up = eval { db()->selectrow_array('SELECT 1'); 1 } ? 1 : 0;
  $c->res->headers->content_type('text/plain; version=0.0.4; charset=utf-8');
  $c->render(data => join "\n",
    '# HELP dr_app_database_up Whether the sample app reaches its site\'s database (1) or not (0).',
    '# TYPE dr_app_database_up gauge',
    qq{dr_app_database_up{app_site="$site"} $db_up}, '');
};

any '/*whatever' => {whatever => ''} => sub ($c) {
  $c->render(json => {error => 'not found', site => $site}, status => 404);
};

app->secrets([join '', map { ('a' .. 'z')[rand 26] } 1 .. 32]);
app->start;
