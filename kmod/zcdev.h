/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zcdev internal interfaces.
 */
#ifndef _ZCDEV_H
#define _ZCDEV_H

#include <linux/types.h>
#include <linux/zcdev.h>

int zcdev_sendfile(struct zcdev_sendfile *args);

#endif /* _ZCDEV_H */
