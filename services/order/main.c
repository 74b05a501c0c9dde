/* main.c: tp-order, the order service daemon. */
#include "order.h"

int main(int argc, char **argv)
{
    return svc_main(argc, argv, &order_def);
}
