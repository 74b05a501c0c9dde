/* main.c: tp-revocation, the revocation service daemon. */
#include "revocation.h"

int main(int argc, char **argv)
{
    return svc_main(argc, argv, &revocation_def);
}
