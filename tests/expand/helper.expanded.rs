use durable::{activity, orchestrator, ActivityError, OrchestrationContext};
#[allow(non_camel_case_types)]
struct charge {}
#[automatically_derived]
#[doc(hidden)]
#[allow(non_camel_case_types)]
unsafe impl ::core::clone::TrivialClone for charge {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::clone::Clone for charge {
    #[inline]
    fn clone(&self) -> charge {
        *self
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::marker::Copy for charge {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::fmt::Debug for charge {
    #[inline]
    fn fmt(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
        ::core::fmt::Formatter::write_str(f, "charge")
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::default::Default for charge {
    #[inline]
    fn default() -> charge {
        charge {}
    }
}
///Names activity `charge`: pass it to `ctx.call` and `.activity(..)`.
fn charge() -> charge {
    charge {}
}
impl charge {
    ///Runs the body of activity `charge` directly, outside any orchestration.
    async fn run(cents: u64) -> Result<u64, ActivityError> {
        Ok(cents)
    }
}
impl ::durable::Activity for charge {
    type Input = u64;
    type Output = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Ok;
    type Error = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Err;
    const NAME: &'static str = "charge";
    fn execute(
        ctx: ::durable::ActivityContext,
        input: Self::Input,
    ) -> impl ::core::future::Future<
        Output = ::core::result::Result<
            <Self as ::durable::Activity>::Output,
            <Self as ::durable::Activity>::Error,
        >,
    > + ::core::marker::Send {
        let _ = ctx;
        Self::run(input)
    }
}
#[allow(non_camel_case_types)]
#[must_use = "a durable function does nothing until an orchestrator awaits it"]
struct pay_twice {
    input: u64,
}
///Awaits durable function `pay_twice` in an orchestrator or another durable function: `pay_twice(&ctx, input).await`.
fn pay_twice(_: &::durable::OrchestrationContext, cents: u64) -> pay_twice {
    pay_twice { input: cents }
}
impl ::durable::__private::Function for pay_twice {
    type Input = u64;
    type Output = Result<u64, ActivityError>;
    const NAME: &'static str = "pay_twice";
    const LAYOUT: &'static str = "durable::function::pay_twice";
    fn step(
        ctx: &::durable::OrchestrationContext,
        input: ::durable::StepInput<'_>,
    ) -> ::core::result::Result<
        ::durable::__private::Called<Self::Output>,
        ::durable::StepError,
    > {
        #[allow(unreachable_code, unused_mut, unused_braces, clippy::needless_return)]
        fn __machine(
            __ctx: &::durable::OrchestrationContext,
            __step: &mut ::durable::__private::StepIo<'_>,
        ) -> <Result<u64, ActivityError> as ::durable::__private::Outcome>::Machine {
            let ctx: &OrchestrationContext = __ctx;
            let mut __s_cents = ::durable::__private::Slot::new();
            let mut __s_first = ::durable::__private::Slot::new();
            let mut __w1 = ::durable::__private::Slot::new();
            let mut __w2 = ::durable::__private::Slot::new();
            static __P1: ::durable::__private::Point = ::durable::__private::Point::new(
                7878977087289505006u64,
                "../../../../tests/expand/helper.rs",
                "ctx.call(charge, cents) at line 10:41",
                &["cents"],
            );
            static __P2: ::durable::__private::Point = ::durable::__private::Point::new(
                7199295282788796569u64,
                "../../../../tests/expand/helper.rs",
                "ctx.call(charge, cents) at line 11:42",
                &["first"],
            );
            let mut __pc: u32 = match __step.point() {
                ::core::option::Option::None => 0u32,
                ::core::option::Option::Some(7878977087289505006u64) => 1u32,
                ::core::option::Option::Some(7199295282788796569u64) => 2u32,
                ::core::option::Option::Some(_) => {
                    return ::core::result::Result::Ok(
                        ::durable::__private::Flow::Fault(__step.unknown_point()),
                    );
                }
            };
            let mut __fault = ::core::option::Option::None;
            '__durable: loop {
                match __pc {
                    0u32 => {
                        let ::core::option::Option::Some(__input) = ::durable::__private::ok(
                            &mut __fault,
                            __step.input(),
                        ) else {
                            break '__durable;
                        };
                        let cents: u64 = __input;
                        {
                            let ::core::option::Option::Some(__scheduled) = ::durable::__private::ok(
                                &mut __fault,
                                ::durable::__private::schedule(
                                    __ctx,
                                    ctx.call(charge, cents),
                                ),
                            ) else {
                                break '__durable;
                            };
                            __w1.put(__scheduled);
                            __s_cents.put(cents);
                            return ::core::result::Result::Ok(
                                __step
                                    .suspend(
                                        &__P1,
                                        &__w1,
                                        &mut [::durable::__private::persist(&mut __s_cents)],
                                    ),
                            );
                        }
                    }
                    1u32 => {
                        let ::core::option::Option::Some(__resumed) = ::durable::__private::ok(
                            &mut __fault,
                            __step
                                .resume(
                                    __ctx,
                                    &__P1,
                                    &mut __w1,
                                    &mut [::durable::__private::persist(&mut __s_cents)],
                                ),
                        ) else {
                            break '__durable;
                        };
                        let __r_3ddb2b9b = match __resumed {
                            ::core::option::Option::Some(value) => value,
                            ::core::option::Option::None => {
                                return ::core::result::Result::Ok(
                                    __step
                                        .suspend(
                                            &__P1,
                                            &__w1,
                                            &mut [::durable::__private::persist(&mut __s_cents)],
                                        ),
                                );
                            }
                        };
                        let cents = __s_cents.take();
                        let first = __r_3ddb2b9b?;
                        {
                            let ::core::option::Option::Some(__scheduled) = ::durable::__private::ok(
                                &mut __fault,
                                ::durable::__private::schedule(
                                    __ctx,
                                    ctx.call(charge, cents),
                                ),
                            ) else {
                                break '__durable;
                            };
                            __w2.put(__scheduled);
                            __s_first.put(first);
                            return ::core::result::Result::Ok(
                                __step
                                    .suspend(
                                        &__P2,
                                        &__w2,
                                        &mut [::durable::__private::persist(&mut __s_first)],
                                    ),
                            );
                        }
                    }
                    2u32 => {
                        let ::core::option::Option::Some(__resumed) = ::durable::__private::ok(
                            &mut __fault,
                            __step
                                .resume(
                                    __ctx,
                                    &__P2,
                                    &mut __w2,
                                    &mut [::durable::__private::persist(&mut __s_first)],
                                ),
                        ) else {
                            break '__durable;
                        };
                        let __r_3ddb2b9b_1 = match __resumed {
                            ::core::option::Option::Some(value) => value,
                            ::core::option::Option::None => {
                                return ::core::result::Result::Ok(
                                    __step
                                        .suspend(
                                            &__P2,
                                            &__w2,
                                            &mut [::durable::__private::persist(&mut __s_first)],
                                        ),
                                );
                            }
                        };
                        let first = __s_first.take();
                        let second = __r_3ddb2b9b_1?;
                        return ::durable::__private::done(Ok(first + second));
                    }
                    _ => break '__durable,
                }
            }
            __step.fault(__fault)
        }
        ::durable::__private::drive_function::<Self, _, _>(ctx, input, __machine)
    }
}
impl ::durable::DurableOp for pay_twice {
    type Output = Result<u64, ActivityError>;
    type Waiter = ::durable::__private::FunctionWaiter<pay_twice>;
    fn schedule(
        self,
        ctx: &::durable::OrchestrationContext,
    ) -> ::core::result::Result<Self::Waiter, ::durable::StepError> {
        ::durable::__private::FunctionWaiter::start(ctx, &self.input)
    }
}
#[allow(non_camel_case_types)]
struct checkout {}
#[automatically_derived]
#[doc(hidden)]
#[allow(non_camel_case_types)]
unsafe impl ::core::clone::TrivialClone for checkout {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::clone::Clone for checkout {
    #[inline]
    fn clone(&self) -> checkout {
        *self
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::marker::Copy for checkout {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::fmt::Debug for checkout {
    #[inline]
    fn fmt(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
        ::core::fmt::Formatter::write_str(f, "checkout")
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::default::Default for checkout {
    #[inline]
    fn default() -> checkout {
        checkout {}
    }
}
///Names orchestration `checkout`: pass it to `.orchestration(..)`, `client.start` and `ctx.sub_orchestration`.
fn checkout() -> checkout {
    checkout {}
}
impl ::durable::Orchestration for checkout {
    type Input = u64;
    type Output = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Ok;
    const NAME: &'static str = "checkout";
    const VERSION: u32 = 1u32;
    const MIGRATES_FROM: &'static [u32] = &[];
    fn step(
        ctx: &::durable::OrchestrationContext,
        input: ::durable::StepInput<'_>,
    ) -> ::core::result::Result<::durable::Step, ::durable::StepError> {
        #[allow(unreachable_code, unused_mut, unused_braces, clippy::needless_return)]
        fn __machine(
            __ctx: &::durable::OrchestrationContext,
            __step: &mut ::durable::__private::StepIo<'_>,
        ) -> <Result<u64, ActivityError> as ::durable::__private::Outcome>::Machine {
            let ctx: OrchestrationContext = ::core::clone::Clone::clone(__ctx);
            let mut __w1 = ::durable::__private::Slot::new();
            static __P1: ::durable::__private::Point = ::durable::__private::Point::new(
                16041608310822800578u64,
                "../../../../tests/expand/helper.rs",
                "pay_twice(&ctx, cents) at line 17:39",
                &[],
            );
            let mut __pc: u32 = match __step.point() {
                ::core::option::Option::None => 0u32,
                ::core::option::Option::Some(16041608310822800578u64) => 1u32,
                ::core::option::Option::Some(_) => {
                    return ::core::result::Result::Ok(
                        ::durable::__private::Flow::Fault(__step.unknown_point()),
                    );
                }
            };
            let mut __fault = ::core::option::Option::None;
            '__durable: loop {
                match __pc {
                    0u32 => {
                        let ::core::option::Option::Some(__input) = ::durable::__private::ok(
                            &mut __fault,
                            __step.input(),
                        ) else {
                            break '__durable;
                        };
                        let cents: u64 = __input;
                        {
                            let ::core::option::Option::Some(__scheduled) = ::durable::__private::ok(
                                &mut __fault,
                                ::durable::__private::schedule(
                                    __ctx,
                                    pay_twice(&ctx, cents),
                                ),
                            ) else {
                                break '__durable;
                            };
                            __w1.put(__scheduled);
                            return ::core::result::Result::Ok(
                                __step.suspend(&__P1, &__w1, &mut []),
                            );
                        }
                    }
                    1u32 => {
                        let ::core::option::Option::Some(__resumed) = ::durable::__private::ok(
                            &mut __fault,
                            __step.resume(__ctx, &__P1, &mut __w1, &mut []),
                        ) else {
                            break '__durable;
                        };
                        let __r_35867d50 = match __resumed {
                            ::core::option::Option::Some(value) => value,
                            ::core::option::Option::None => {
                                return ::core::result::Result::Ok(
                                    __step.suspend(&__P1, &__w1, &mut []),
                                );
                            }
                        };
                        let paid = __r_35867d50?;
                        return ::durable::__private::done(Ok(paid));
                    }
                    _ => break '__durable,
                }
            }
            __step.fault(__fault)
        }
        ::durable::__private::drive::<Self, _>(ctx, input, __machine)
    }
}
