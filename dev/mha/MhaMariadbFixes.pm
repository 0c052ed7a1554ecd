# The two upstream bugs that stop stock MHA 0.58 (Debian's mha4mysql-node/-manager) on MariaDB 10.x, fixed by
# redefining the two functions at load time; the system's files stay as packaged. Loaded by the bench through
# PERL5LIB=dev/mha PERL5OPT=-MMhaMariadbFixes.
#  - MHA::NodeUtil::parse_mysql_version / parse_mysql_major_version pass every number of the version string to
#    sprintf, which dies ("Redundant argument in sprintf") on "10.11.x-MariaDB-0+deb12u1-log": only the first 3
#    (resp. 2) numbers count (mha4mysql-node issue #35, mha4mysql-manager issue #116).
#  - MHA::SlaveUtil::check_if_super_read_only reads @@global.super_read_only, which MariaDB does not have: a server
#    without it is not super-read-only.
package MhaMariadbFixes;
use strict;
use warnings;
use MHA::NodeUtil ();
use MHA::SlaveUtil ();

sub version_numbers {
  my ( $str, $count ) = @_;
  my @numbers = $str =~ m/(\d+)/g;
  return map { $numbers[$_] // 0 } 0 .. $count - 1;
}

{
  no warnings 'redefine';
  *MHA::NodeUtil::parse_mysql_version = sub($) {
    return sprintf( '%03d%03d%03d', version_numbers( shift, 3 ) );
  };
  *MHA::NodeUtil::parse_mysql_major_version = sub($) {
    return sprintf( '%03d%03d', version_numbers( shift, 2 ) );
  };
  my $stock_check = \&MHA::SlaveUtil::check_if_super_read_only;
  *MHA::SlaveUtil::check_if_super_read_only = sub {
    my @result = eval { $stock_check->(@_) };
    return @result ? @result : ( 0, 0 );
  };
}

1;
