/* main.c: tp-account, the account service daemon. */
#include "account.h"

int main(int argc, char **argv)
{
    return svc_main(argc, argv, &account_def);
}
